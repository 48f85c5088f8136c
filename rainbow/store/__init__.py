"""Where the server keeps clusters, graphs, state and jobs: an interface and its SQLite and PostgreSQL backends."""
from __future__ import annotations

from pathlib import Path

from rainbow.store.base import (ACCEPTED, ADMIN_TOKEN, ADMIN_TOKEN_HASH, CANCELLED, CLOSED, CLUSTER_SECRET,
                                CLUSTER_TOKEN, COMPLETED, COPY_TABLES, CREDENTIAL_KINDS, FAILED, FINAL_STATUSES,
                                GRANT_KINDS, JOB_STATES, JOB_STATUSES, MAX_JOB_ID, PENDING, REGISTRATION_SECRET,
                                REGISTRATION_SECRET_HASH, RUNNING, SUBMITTED, USER_TOKEN, Assignment,
                                AssignmentRecord, AuditEntry, AuditRecord, Changes, ClusterGraphs, ClusterRecord,
                                GroupRecord, JobIdsExhausted, JobRecord, JobReport, JobSummary, Leadership,
                                SchemaVersionError, Store, StoreError, UserRecord)

__all__ = ["ACCEPTED", "ADMIN_TOKEN", "ADMIN_TOKEN_HASH", "Assignment", "AssignmentRecord", "AuditEntry",
           "AuditRecord", "CANCELLED", "CLOSED", "CLUSTER_SECRET", "CLUSTER_TOKEN", "COMPLETED", "COPY_TABLES",
           "CREDENTIAL_KINDS", "FAILED", "FINAL_STATUSES", "GRANT_KINDS", "GroupRecord", "JOB_STATES", "JOB_STATUSES",
           "JobSummary", "MAX_JOB_ID", "PENDING", "REGISTRATION_SECRET", "REGISTRATION_SECRET_HASH", "RUNNING",
           "SUBMITTED", "USER_TOKEN", "UserRecord", "Changes", "ClusterGraphs", "ClusterRecord", "JobIdsExhausted",
           "JobRecord", "JobReport", "Leadership", "SchemaVersionError", "Store", "StoreError", "open_store",
           "store_kind"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def store_kind(location: str | Path) -> str:
    """"postgresql" for a postgresql:// URL, "sqlite" for a file path or sqlite:///PATH; StoreError otherwise."""
    text = str(location)
    if text.startswith(_POSTGRES_SCHEMES):
        return "postgresql"
    if text.startswith("sqlite:///") or "://" not in text:
        return "sqlite"
    raise StoreError(f"unsupported store location {text!r}: give a SQLite file path, sqlite:///PATH or "
                     f"postgresql://USER@HOST:PORT/DB")


def open_store(location: str | Path, *, upgrade: bool = False, pool_size: int = 16) -> Store:
    """Open (creating when needed) the store at `location`: a SQLite file path, `sqlite:///PATH`, or
    `postgresql://USER@HOST:PORT/DB`.

    A store with an older schema opens only with `upgrade` (which migrates it); one with a newer schema never does.
    """
    text = str(location)
    if store_kind(text) == "postgresql":
        try:
            from rainbow.store.postgresql import PostgreSQLStore
        except ImportError:
            raise StoreError("a postgresql:// store needs the postgres extra: pip install 'rainbow-compspec[postgres]'"
                             ) from None
        return PostgreSQLStore(text, upgrade=upgrade, pool_size=pool_size)
    from rainbow.store.sqlite import SQLiteStore

    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///"):]
    return SQLiteStore(text, upgrade=upgrade)
