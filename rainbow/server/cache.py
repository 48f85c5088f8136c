"""A small thread-safe LRU map whose entries expire when the scheduler's cluster generation moves on.

Submissions repeat: job arrays and retries send the same jobspec to the same clusters with the same tokens. The
answers (tokens valid, which clusters fit and why not) only change when a cluster is registered, changed or
deleted, and each such change bumps the generation, so an entry from before it is never used.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Hashable, Sequence


def digest(parts: Sequence[str]) -> str | None:
    """One fixed-size key for a list of strings (the cache never keeps tokens or jobspecs themselves).

    The parts are joined with NUL, which is unambiguous as long as no part holds a NUL itself; for such input
    (never valid anyway) there is no key and the caller does not cache.
    """
    text = "\0".join(parts)
    if text.count("\0") != max(len(parts) - 1, 0):
        return None
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
        if key is None:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != generation:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, generation: int, value: Any) -> None:
        if key is None:
            return
        with self._lock:
            if generation != self.generation:
                return  # computed before a change: do not keep it
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
