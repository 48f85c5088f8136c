"""The SQLite store: one file in WAL mode, parameterised SQL only, one transaction per method (a method of one
statement lets SQLite make that statement its own transaction).

One connection serves the whole process behind a lock: the gRPC handlers are threads of one interpreter, so a pool
would only add lock contention inside SQLite. The busy timeout covers a second process on the same file (a CLI
reading the jobs, a server being restarted).
"""
from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from compspec.documents import package_data
from rainbow.store.base import (ACCEPTED, MAX_JOB_ID, PENDING, JobIdsExhausted, ClusterGraphs, ClusterRecord, JobRecord, Store, StoreError)

BUSY_TIMEOUT_MS = 10_000


@functools.lru_cache(maxsize=1)
def _schema_statements() -> tuple[str, ...]:
    return tuple(package_data("rainbow", "store-schema.yaml")["statements"])


def _job(row: sqlite3.Row | tuple) -> JobRecord:
    return JobRecord(id=row[0], cluster=row[1], name=row[2], jobspec=row[3], state=row[4], submitted=row[5],
                     accepted=row[6])


_JOB_COLUMNS = "id, cluster, name, jobspec, state, submitted, accepted"


class SQLiteStore(Store):
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal" and self.path != ":memory:":
                raise StoreError(f"{self.path}: cannot switch the database to WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {exc}") from exc
        self._lock = threading.RLock()
        with self._write() as db:
            for statement in _schema_statements():
                db.execute(statement)

    # -- transactions -----------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._db is None:
                raise StoreError("the store is closed")
            try:
                self._db.execute(begin)
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
            try:
                yield self._db
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"{self.path}: {exc}") from exc
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"{self.path}: {exc}") from exc

    @contextlib.contextmanager
    def _single(self) -> Iterator[sqlite3.Connection]:
        """One statement, which SQLite runs as a transaction of its own (no BEGIN/COMMIT round trips)."""
        with self._lock:
            if self._db is None:
                raise StoreError("the store is closed")
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc

    def _write(self):
        # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading from read locks.
        return self._transaction("BEGIN IMMEDIATE")

    # -- clusters ---------------------------------------------------------------------------------------------
    def register_cluster(self, name: str, token_hash: str, secret_hash: str, graph: str) -> bool:
        now = time.time()
        with self._write() as db:
            if db.execute("SELECT 1 FROM clusters WHERE name = ?", (name,)).fetchone():
                return False
            db.execute("INSERT INTO clusters (name, token_hash, secret_hash, created) VALUES (?, ?, ?, ?)",
                       (name, token_hash, secret_hash, now))
            db.execute("INSERT INTO graphs (cluster, subsystem, jgf, created) VALUES (?, '', ?, ?)",
                       (name, graph, now))
        return True

    def get_cluster(self, name: str) -> ClusterRecord | None:
        with self._single() as db:
            row = db.execute("SELECT name, token_hash, secret_hash, created FROM clusters WHERE name = ?",
                             (name,)).fetchone()
        return ClusterRecord(*row) if row else None

    def get_clusters(self, names: Iterable[str]) -> dict[str, ClusterRecord]:
        wanted = json.dumps(sorted(set(names)))
        with self._single() as db:
            rows = db.execute("SELECT name, token_hash, secret_hash, created FROM clusters "
                              "WHERE name IN (SELECT value FROM json_each(?))", (wanted,)).fetchall()
        return {row[0]: ClusterRecord(*row) for row in rows}

    def cluster_names(self) -> list[str]:
        with self._single() as db:
            return [row[0] for row in db.execute("SELECT name FROM clusters ORDER BY name")]

    def delete_cluster(self, name: str) -> bool:
        with self._write() as db:
            gone = db.execute("DELETE FROM clusters WHERE name = ?", (name,)).rowcount
            if not gone:
                return False
            db.execute("DELETE FROM graphs WHERE cluster = ?", (name,))
            db.execute("DELETE FROM states WHERE cluster = ?", (name,))
            db.execute("DELETE FROM jobs WHERE cluster = ? AND state = ?", (name, PENDING))
            db.execute("UPDATE jobs SET retired = 1 WHERE cluster = ? AND retired = 0", (name,))
        return True

    # -- graphs -----------------------------------------------------------------------------------------------
    def get_graphs(self, cluster: str) -> ClusterGraphs | None:
        with self._single() as db:
            rows = db.execute("SELECT subsystem, jgf FROM graphs WHERE cluster = ? ORDER BY subsystem",
                              (cluster,)).fetchall()
        graphs = dict(rows)
        if "" not in graphs:
            return None
        main = graphs.pop("")
        return ClusterGraphs(cluster=cluster, graph=main, subsystems=graphs)

    def add_subsystem(self, cluster: str, subsystem: str, graph: str) -> bool:
        if not subsystem:
            raise ValueError("a subsystem needs a name")
        with self._write() as db:
            if not db.execute("SELECT 1 FROM clusters WHERE name = ?", (cluster,)).fetchone():
                return False
            if db.execute("SELECT 1 FROM graphs WHERE cluster = ? AND subsystem = ?",
                          (cluster, subsystem)).fetchone():
                return False
            db.execute("INSERT INTO graphs (cluster, subsystem, jgf, created) VALUES (?, ?, ?, ?)",
                       (cluster, subsystem, graph, time.time()))
        return True

    def delete_subsystem(self, cluster: str, subsystem: str) -> bool:
        if not subsystem:
            return False
        with self._single() as db:
            return db.execute("DELETE FROM graphs WHERE cluster = ? AND subsystem = ?",
                              (cluster, subsystem)).rowcount > 0

    # -- state ------------------------------------------------------------------------------------------------
    def set_state(self, cluster: str, payload: str) -> bool:
        with self._write() as db:
            if not db.execute("SELECT 1 FROM clusters WHERE name = ?", (cluster,)).fetchone():
                return False
            db.execute("INSERT INTO states (cluster, payload, updated) VALUES (?, ?, ?) "
                       "ON CONFLICT (cluster) DO UPDATE SET payload = excluded.payload, updated = excluded.updated",
                       (cluster, payload, time.time()))
        return True

    def get_states(self, clusters: Iterable[str]) -> dict[str, str]:
        wanted = json.dumps(sorted(set(clusters)))
        with self._single() as db:
            rows = db.execute("SELECT cluster, payload FROM states WHERE cluster IN (SELECT value FROM json_each(?))",
                              (wanted,)).fetchall()
        return dict(rows)

    # -- jobs -------------------------------------------------------------------------------------------------
    def add_job(self, cluster: str, name: str, jobspec: str) -> int | None:
        with self._write() as db:
            cursor = db.execute("INSERT INTO jobs (cluster, name, jobspec, state, submitted) "
                                "SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM clusters WHERE name = ?)",
                                (cluster, name, jobspec, PENDING, time.time(), cluster))
            if cursor.rowcount != 1:
                return None
            if cursor.lastrowid > MAX_JOB_ID:  # raising rolls the insert back
                raise JobIdsExhausted(f"job id {cursor.lastrowid} does not fit the wire format (int32)")
            return cursor.lastrowid

    def pending_jobs(self, cluster: str, limit: int = 0) -> list[JobRecord]:
        with self._single() as db:
            rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE cluster = ? AND state = ? AND retired = 0 "
                              "ORDER BY id LIMIT ?",
                              (cluster, PENDING, limit if limit > 0 else -1)).fetchall()
        return [_job(row) for row in rows]

    def accept_jobs(self, cluster: str, ids: Sequence[int]) -> list[int]:
        wanted = json.dumps(sorted({int(i) for i in ids}))
        with self._single() as db:
            rows = db.execute("UPDATE jobs SET state = ?, accepted = ? WHERE cluster = ? AND state = ? "
                              "AND retired = 0 AND id IN (SELECT value FROM json_each(?)) RETURNING id",
                              (ACCEPTED, time.time(), cluster, PENDING, wanted)).fetchall()
        return sorted(row[0] for row in rows)

    def list_jobs(self, cluster: str, state: str = "", after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        sql = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE cluster = ? AND id > ? AND retired = 0"
        args: list = [cluster, after_id]
        if state:
            sql += " AND state = ?"
            args.append(state)
        sql += " ORDER BY id LIMIT ?"
        args.append(limit if limit > 0 else -1)
        with self._single() as db:
            rows = db.execute(sql, args).fetchall()
        return [_job(row) for row in rows]

    def count_jobs(self, cluster: str | None = None, state: str = "") -> int:
        sql = "SELECT COUNT(*) FROM jobs WHERE retired = 0"
        args: list = []
        if cluster is not None:
            sql += " AND cluster = ?"
            args.append(cluster)
        if state:
            sql += " AND state = ?"
            args.append(state)
        with self._single() as db:
            return db.execute(sql, args).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
