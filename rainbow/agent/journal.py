"""The agent's small local journal: which rainbow jobs it submitted, under which local id, whether the scheduler
has their acceptance, and the status last reported.

It is what makes a restart safe: a job submitted locally is written here (and synced) before it is accepted, so an
agent that dies in between finds it on its next start and accepts it without submitting it again; and the jobs it
still follows are read back, so their end is reported however long the agent was away. One JSON object per line,
appended; rewritten without the finished jobs when it is opened.
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Entry:
    id: int
    local_id: str
    accepted: bool = False
    reported: str = ""  # the last status the scheduler has from us
    done: bool = False


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.entries: dict[int, Entry] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    data = json.loads(line)
                    entry = Entry(**data)
                except (ValueError, TypeError):
                    continue  # a line cut short by a crash while it was written
                self.entries[entry.id] = entry
        self.entries = {k: v for k, v in self.entries.items() if not v.done}
        self._rewrite()

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as out:
            for entry in self.entries.values():
                out.write(json.dumps(asdict(entry)) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)

    def _append(self, entry: Entry) -> None:
        with open(self.path, "a") as out:
            out.write(json.dumps(asdict(entry)) + "\n")
            out.flush()
            os.fsync(out.fileno())

    def get(self, job_id: int) -> Entry | None:
        return self.entries.get(job_id)

    def active(self) -> list[Entry]:
        return [entry for entry in self.entries.values() if not entry.done]

    def record(self, job_id: int, local_id: str, **changes) -> Entry:
        """Write what is now known of a job (a new one, or changes to one), synced before returning."""
        with self._lock:
            entry = self.entries.get(job_id) or Entry(id=job_id, local_id=local_id)
            if local_id:
                entry.local_id = local_id
            for key, value in changes.items():
                setattr(entry, key, value)
            self._append(entry)
            if entry.done:
                self.entries.pop(job_id, None)
            else:
                self.entries[job_id] = entry
            return entry
