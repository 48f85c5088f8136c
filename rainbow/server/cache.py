"""A small thread-safe LRU map whose entries expire when the scheduler's cluster generation moves on.

Submissions repeat: job arrays and retries send the same jobspec to the same clusters with the same tokens. The
answers (tokens valid, which clusters fit and why not) only change when a cluster is registered, changed or
deleted, and each such change bumps the generation, so an entry from before it is never used.
"""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Hashable


def digest(parts: Any) -> str:
    """One fixed-size key for a JSON-able structure of strings (the cache never keeps tokens or jobspecs)."""
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))  # unambiguous, and done in C
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class GenerationCache:
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.generation = 0

    def bump(self) -> None:
        """Every entry from now on is stale (a cluster, graph or credential changed)."""
        with self._lock:
            self.generation += 1
            self._entries.clear()

    def get(self, key: Hashable, generation: int) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != generation:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, generation: int, value: Any) -> None:
        with self._lock:
            if generation != self.generation:
                return  # computed before a change: do not keep it
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
