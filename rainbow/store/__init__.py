"""Where the server keeps clusters, graphs, state and jobs: an interface and its SQLite backend."""
from __future__ import annotations

from pathlib import Path

from rainbow.store.base import (ACCEPTED, JOB_STATES, MAX_JOB_ID, PENDING, ClusterGraphs, ClusterRecord,
                                JobIdsExhausted, JobRecord, Store, StoreError)

__all__ = ["ACCEPTED", "JOB_STATES", "MAX_JOB_ID", "PENDING", "ClusterGraphs", "ClusterRecord", "JobIdsExhausted",
           "JobRecord", "Store", "StoreError", "open_store"]


def open_store(location: str | Path) -> Store:
    """Open (creating when needed) the store at `location`: a SQLite file path, or `sqlite:///PATH`."""
    from rainbow.store.sqlite import SQLiteStore

    text = str(location)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    elif "://" in text:
        raise StoreError(f"unsupported store location {text!r}: give a SQLite file path")
    return SQLiteStore(text)
