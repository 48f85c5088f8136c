"""The SQLite store: one file in WAL mode, parameterised SQL only, one transaction per method (a method of one
statement lets SQLite make that statement its own transaction).

One connection serves the whole process behind a lock: the gRPC handlers are threads of one interpreter, so a pool
would only add lock contention inside SQLite. The busy timeout covers a second process on the same file (a CLI
reading the jobs, a server being restarted).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from rainbow.store.base import (ACCEPTED, ASSIGNMENT_COLUMNS, CANCELLED, CLOSED, CLUSTER_SECRET, CLUSTER_TOKEN,
                                COPY_TABLES, FINAL_STATUSES, JOB_COLUMNS, MAX_JOB_ID, PENDING, USER_TOKEN, Assignment,
                                AssignmentRecord, AuditEntry, AuditRecord, Changes, ClusterGraphs, ClusterRecord,
                                GroupRecord, JobIdsExhausted, JobRecord, JobReport, JobSummary, Leadership, Store,
                                StoreError, UserRecord, job_from_row, names_json, owners_json, report_changes)
from rainbow.store.bids import BidStore
from rainbow.store.schema import bring_to_schema, load_schema

BUSY_TIMEOUT_MS = 10_000
SCHEMA_FILE = "data/store-schema.yaml"


_job = job_from_row
_JOB_COLUMNS = JOB_COLUMNS
_FINAL = ", ".join(f"'{status}'" for status in FINAL_STATUSES)
# A job as ReceiveJobs carries it (protocol.md: these five keys, always), made by the database in the same pass.
_WIRE_COLUMNS = "id, json_object('id', id, 'cluster', cluster, 'name', name, 'jobspec', jobspec, 'command', '')"


def _create_private(path: str) -> None:
    """Create the database file readable by its owner only; SQLite gives its -wal and -shm files the same mode."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"{path}: {exc.strerror}") from None
    os.close(fd)


class _FileLock(Leadership):
    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class SQLiteStore(BidStore, Store):
    kind = "sqlite"

    def __init__(self, path: str | Path, *, upgrade: bool = False) -> None:
        self.path = str(path)
        self.location = self.path
        _create_private(self.path)
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
        # Every request first reads the change counters (Scheduler.sync). On a connection of their own they are read
        # without waiting for the writer's lock, held through each write's commit.
        self._peek_db: sqlite3.Connection | None = None
        self._peek_lock = threading.Lock()
        try:
            self._prepare(upgrade)
            if self.path != ":memory:" and not self.path.startswith("file:"):
                self._peek_db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                                check_same_thread=False)
                self._peek_db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            self.close()
            raise StoreError(f"{self.path}: {exc}") from exc
        except BaseException:
            self.close()
            raise

    # -- schema -----------------------------------------------------------------------------------------------
    def _recorded_version(self, db: sqlite3.Connection) -> int:
        """0 for an empty file; 1 for a store made before versions were recorded."""
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "meta" in tables:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is not None:
                return int(row[0])
        return 1 if "clusters" in tables else 0

    def _prepare(self, upgrade: bool) -> None:
        with self._write() as db:
            bring_to_schema(db.execute, load_schema(SCHEMA_FILE), self._recorded_version(db), upgrade=upgrade,
                            kind="SQLite", where=str(self.path), placeholder="?")

    def schema_version(self) -> int:
        with self._single() as db:
            return self._recorded_version(db)

    def get_setting(self, key: str) -> str | None:
        with self._single() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
            self._bump(db, "clusters")

    def setdefault_setting(self, key: str, value: str) -> str:
        with self._write() as db:
            if db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                          (key, value)).rowcount:
                self._bump(db, "clusters")
            return db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    @staticmethod
    def _bump(db: sqlite3.Connection, counter: str) -> int:
        # `counter` is one of two literal column names chosen by this module, never input.
        return db.execute(f"UPDATE changes SET {counter} = {counter} + 1 WHERE id = 1 RETURNING {counter}"
                          ).fetchone()[0]

    def changes(self) -> Changes:
        if self._peek_db is None:
            with self._single() as db:
                row = db.execute("SELECT clusters, states FROM changes WHERE id = 1").fetchone()
            return Changes(row[0], row[1])
        with self._peek_lock:
            if self._peek_db is None:
                raise StoreError("the store is closed")
            try:
                row = self._peek_db.execute("SELECT clusters, states FROM changes WHERE id = 1").fetchone()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc
        return Changes(row[0], row[1])

    def cluster_revisions(self) -> dict[str, tuple[int, str]]:
        with self._single() as db:
            rows = db.execute("SELECT name, revision, token_hash FROM clusters").fetchall()
        return {name: (revision, token) for name, revision, token in rows}

    def states_since(self, revision: int) -> dict[str, str]:
        with self._single() as db:
            rows = db.execute("SELECT cluster, payload FROM states WHERE revision > ?", (revision,)).fetchall()
        return dict(rows)

    def try_leadership(self, name: str) -> Leadership | None:
        if self.path == ":memory:":
            raise StoreError("an in-memory store has no locks to share")
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
        lock_path = f"{self.path}-lock-{digest}"
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"{lock_path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return _FileLock(fd)

    # -- copying ----------------------------------------------------------------------------------------------
    def rows(self, table: str) -> Iterable[tuple]:
        columns = COPY_TABLES[table]  # KeyError for anything else: the names below are never input
        with self._single() as db:
            return db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2").fetchall()

    def load_rows(self, table: str, rows: Iterable[tuple]) -> int:
        columns = COPY_TABLES[table]
        marks = ", ".join("?" for _ in columns)
        conflict = " ON CONFLICT (key) DO UPDATE SET value = excluded.value" if table == "meta" else ""
        rows = [row for row in rows if not (table == "meta" and row[0] == "schema_version")]
        with self._write() as db:
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){conflict}", rows)
            self._bump(db, "clusters")
            self._bump(db, "states")
        return len(rows)

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

    def _transact(self, work):
        with self._write() as db:
            return work(db.execute)

    # -- clusters ---------------------------------------------------------------------------------------------
    def register_cluster(self, name: str, token_hash: str, secret_hash: str, graph: str) -> int:
        now = time.time()
        with self._write() as db:
            if db.execute("SELECT 1 FROM clusters WHERE name = ?", (name,)).fetchone():
                return 0
            revision = self._bump(db, "clusters")
            db.execute("INSERT INTO clusters (name, token_hash, secret_hash, created, revision) "
                       "VALUES (?, ?, ?, ?, ?)", (name, token_hash, secret_hash, now, revision))
            db.execute("INSERT INTO graphs (cluster, subsystem, jgf, created) VALUES (?, '', ?, ?)",
                       (name, graph, now))
        return revision

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
            db.execute("DELETE FROM assignments WHERE job IN (SELECT id FROM jobs WHERE cluster = ? AND state = ?)",
                       (name, PENDING))
            db.execute("DELETE FROM jobs WHERE cluster = ? AND state = ?", (name, PENDING))
            db.execute("UPDATE jobs SET retired = 1 WHERE cluster = ? AND retired = 0", (name,))
            db.execute("DELETE FROM retiring_credentials WHERE kind IN (?, ?) AND owner = ?",
                       (CLUSTER_TOKEN, CLUSTER_SECRET, name))
            self._bump(db, "clusters")
        return True

    # -- graphs -----------------------------------------------------------------------------------------------
    def get_graphs(self, cluster: str) -> ClusterGraphs | None:
        with self._single() as db:
            rows = db.execute("SELECT subsystem, jgf FROM graphs WHERE cluster = ? ORDER BY subsystem",
                              (cluster,)).fetchall()
        return ClusterGraphs.from_rows(cluster, rows)

    def add_subsystem(self, cluster: str, subsystem: str, graph: str) -> int:
        if not subsystem:
            raise ValueError("a subsystem needs a name")
        with self._write() as db:
            if not db.execute("SELECT 1 FROM clusters WHERE name = ?", (cluster,)).fetchone():
                return 0
            if db.execute("SELECT 1 FROM graphs WHERE cluster = ? AND subsystem = ?",
                          (cluster, subsystem)).fetchone():
                return 0
            db.execute("INSERT INTO graphs (cluster, subsystem, jgf, created) VALUES (?, ?, ?, ?)",
                       (cluster, subsystem, graph, time.time()))
            revision = self._bump(db, "clusters")
            db.execute("UPDATE clusters SET revision = ? WHERE name = ?", (revision, cluster))
        return revision

    def delete_subsystem(self, cluster: str, subsystem: str) -> int:
        if not subsystem:
            return 0
        with self._write() as db:
            if not db.execute("DELETE FROM graphs WHERE cluster = ? AND subsystem = ?", (cluster, subsystem)).rowcount:
                return 0
            revision = self._bump(db, "clusters")
            db.execute("UPDATE clusters SET revision = ? WHERE name = ?", (revision, cluster))
        return revision

    # -- state ------------------------------------------------------------------------------------------------
    def set_state(self, cluster: str, payload: str) -> bool:
        with self._write() as db:
            if not db.execute("SELECT 1 FROM clusters WHERE name = ?", (cluster,)).fetchone():
                return False
            revision = self._bump(db, "states")
            db.execute("INSERT INTO states (cluster, payload, updated, revision) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (cluster) DO UPDATE SET payload = excluded.payload, updated = excluded.updated, "
                       "revision = excluded.revision", (cluster, payload, time.time(), revision))
        return True

    def get_states(self, clusters: Iterable[str]) -> dict[str, str]:
        wanted = json.dumps(sorted(set(clusters)))
        with self._single() as db:
            rows = db.execute("SELECT cluster, payload FROM states WHERE cluster IN (SELECT value FROM json_each(?))",
                              (wanted,)).fetchall()
        return dict(rows)

    # -- jobs -------------------------------------------------------------------------------------------------
    def add_job(self, cluster: str, name: str, jobspec: str, user: str = "", owners: Sequence[str] = (),
                candidates: Sequence[str] = (), assignment: Assignment | None = None) -> int | None:
        now = time.time()
        with self._write() as db:
            cursor = db.execute("INSERT INTO jobs (cluster, name, jobspec, state, submitted, owners, candidates) "
                                "SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM clusters WHERE name = ?)",
                                (cluster, name, jobspec, PENDING, now, owners_json(owners),
                                 names_json(candidates), cluster))
            if cursor.rowcount != 1:
                return None
            jobid = cursor.lastrowid
            if jobid > MAX_JOB_ID:  # raising rolls the insert back
                raise JobIdsExhausted(f"job id {jobid} does not fit the wire format (int32)")
            if user:
                db.execute("INSERT INTO job_users (job, username) VALUES (?, ?)", (jobid, user))
            if assignment is not None:
                db.execute("INSERT INTO assignments (job, cluster, algorithm, reason, others, made) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (jobid, cluster, assignment.algorithm, assignment.reason,
                                                         assignment.others_json(), now))
            return jobid

    def pending_jobs(self, cluster: str, limit: int = 0, lease_seconds: float = 0.0) -> list[JobRecord]:
        return [_job(row) for row in self._pending(cluster, limit, lease_seconds, _JOB_COLUMNS)]

    def pending_job_texts(self, cluster: str, limit: int = 0, lease_seconds: float = 0.0) -> list[tuple[int, str]]:
        return self._pending(cluster, limit, lease_seconds, _WIRE_COLUMNS)

    def _pending(self, cluster: str, limit: int, lease_seconds: float, columns: str) -> list[tuple]:
        if lease_seconds > 0:
            now = time.time()
            with self._write() as db:
                rows = db.execute(f"UPDATE jobs SET leased_until = ? WHERE id IN (SELECT id FROM jobs "
                                  "WHERE cluster = ? AND state = ? AND retired = 0 "
                                  "AND (leased_until IS NULL OR leased_until <= ?) ORDER BY id LIMIT ?) "
                                  f"RETURNING {columns}",
                                  (now + lease_seconds, cluster, PENDING, now, limit if limit > 0 else -1)).fetchall()
            return sorted(rows, key=lambda row: row[0])
        with self._single() as db:
            return db.execute(f"SELECT {columns} FROM jobs WHERE cluster = ? AND state = ? AND retired = 0 "
                              "ORDER BY id LIMIT ?", (cluster, PENDING, limit if limit > 0 else -1)).fetchall()

    def accept_jobs(self, cluster: str, ids: Sequence[int]) -> list[int]:
        wanted = json.dumps(sorted({int(i) for i in ids}))
        with self._single() as db:
            # Each id is looked up by its primary key (the unary + keeps the planner off the cluster index).
            rows = db.execute("UPDATE jobs SET state = ?, accepted = ? WHERE id IN (SELECT value FROM json_each(?)) "
                              "AND +cluster = ? AND +state = ? AND retired = 0 RETURNING id",
                              (ACCEPTED, time.time(), wanted, cluster, PENDING)).fetchall()
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

    def get_job(self, job_id: int) -> JobRecord | None:
        with self._single() as db:
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def report_job(self, cluster: str, job_id: int, report: JobReport) -> JobRecord | None:
        with self._write() as db:
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ? AND cluster = ? AND retired = 0",
                             (job_id, cluster)).fetchone()
            if row is None:
                return None
            changes = report_changes(_job(row), report, time.time())
            if changes:
                # The column names come from report_changes, never from input.
                assignments = ", ".join(f"{column} = ?" for column in changes)
                db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*changes.values(), job_id))
            return _job(db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone())

    def requeue_job(self, job_id: int, from_cluster: str, to_cluster: str, reason: str) -> bool:
        with self._write() as db:
            row = db.execute("SELECT tried FROM jobs WHERE id = ? AND cluster = ? AND state = ? AND retired = 0",
                             (job_id, from_cluster, PENDING)).fetchone()
            if row is None or not db.execute("SELECT 1 FROM clusters WHERE name = ?", (to_cluster,)).fetchone():
                return False
            tried = json.dumps([*json.loads(row[0] or "[]"), from_cluster])
            db.execute("UPDATE jobs SET cluster = ?, tried = ?, reason = ?, status = '', local_id = '', "
                       "leased_until = NULL, updated = ? WHERE id = ?",
                       (to_cluster, tried, reason, time.time(), job_id))
        return True

    def cancel_job(self, job_id: int) -> JobRecord | None:
        now = time.time()
        with self._write() as db:
            db.execute("UPDATE jobs SET state = ?, status = ?, ended = ?, updated = ?, cancel_requested = ? "
                       "WHERE id = ? AND state = ?", (CLOSED, CANCELLED, now, now, now, job_id, PENDING))
            db.execute(f"UPDATE jobs SET cancel_requested = ? WHERE id = ? AND state = ? AND status NOT IN ({_FINAL}) "
                       "AND cancel_requested IS NULL", (now, job_id, ACCEPTED))
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def cancel_requests(self, cluster: str) -> list[JobRecord]:
        with self._single() as db:
            rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE cluster = ? AND state = ? AND retired = 0 "
                              f"AND cancel_requested IS NOT NULL AND status NOT IN ({_FINAL}) ORDER BY id",
                              (cluster, ACCEPTED)).fetchall()
        return [_job(row) for row in rows]

    def owned_jobs(self, token_hashes: Sequence[str], after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        wanted = json.dumps(sorted(set(token_hashes)))
        with self._single() as db:
            rows = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id > ? AND EXISTS (SELECT 1 FROM "
                              "json_each(jobs.owners) AS o WHERE o.value IN (SELECT value FROM json_each(?))) "
                              "ORDER BY id LIMIT ?", (after_id, wanted, limit if limit > 0 else -1)).fetchall()
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

    def get_job(self, job_id: int) -> JobRecord | None:
        with self._single() as db:
            row = db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def get_assignment(self, job_id: int) -> AssignmentRecord | None:
        with self._single() as db:
            row = db.execute(f"SELECT {ASSIGNMENT_COLUMNS} FROM assignments a JOIN jobs j ON j.id = a.job "
                             "WHERE a.job = ?", (job_id,)).fetchone()
        return AssignmentRecord.from_row(row) if row else None

    def latest_assignments(self, limit: int = 20) -> list[AssignmentRecord]:
        with self._single() as db:
            rows = db.execute(f"SELECT {ASSIGNMENT_COLUMNS} FROM assignments a JOIN jobs j ON j.id = a.job "
                              "ORDER BY a.job DESC LIMIT ?", (max(limit, 0),)).fetchall()
        return [AssignmentRecord.from_row(row) for row in rows]

    def job_summary(self) -> JobSummary:
        with self._single() as db:
            rows = db.execute("SELECT state, COUNT(*), MIN(submitted) FROM jobs WHERE retired = 0 "
                              "GROUP BY state").fetchall()
        oldest = next((row[2] for row in rows if row[0] == PENDING), None)
        return JobSummary({row[0]: row[1] for row in rows}, oldest)

    def state_times(self) -> dict[str, float]:
        with self._single() as db:
            return dict(db.execute("SELECT cluster, updated FROM states").fetchall())

    def active_jobs(self, clusters: Sequence[str]) -> dict[str, int]:
        with self._single() as db:
            rows = db.execute("SELECT cluster, COUNT(*) FROM jobs WHERE retired = 0 AND state IN (?, ?) "
                              f"AND status NOT IN ({_FINAL}) "
                              "AND cluster IN (SELECT value FROM json_each(?)) GROUP BY cluster",
                              (PENDING, ACCEPTED, json.dumps(list(clusters)))).fetchall()
        return {cluster: count for cluster, count in rows}


    # -- users, groups, grants --------------------------------------------------------------------------------
    @staticmethod
    def _audit(db: sqlite3.Connection, entry: AuditEntry | None) -> int:
        if entry is None:
            return 0
        return db.execute("INSERT INTO audit (at, action, subject, detail) VALUES (?, ?, ?, ?)",
                          (time.time(), entry.action, entry.subject, entry.detail)).lastrowid

    def add_user(self, name: str, token_hash: str, audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            if not db.execute("INSERT INTO users (name, token_hash, created) VALUES (?, ?, ?) "
                              "ON CONFLICT (name) DO NOTHING", (name, token_hash, time.time())).rowcount:
                return False
            self._bump(db, "clusters")
            self._audit(db, audit)
        return True

    def remove_user(self, name: str, audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            if not db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                return False
            db.execute("DELETE FROM grants WHERE username = ?", (name,))
            db.execute("DELETE FROM retiring_credentials WHERE kind = ? AND owner = ?", (USER_TOKEN, name))
            self._bump(db, "clusters")
            self._audit(db, audit)
        return True

    def set_user_token(self, name: str, token_hash: str, keep_old_until: float = 0.0,
                       audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            row = db.execute("SELECT token_hash FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE users SET token_hash = ? WHERE name = ?", (token_hash, name))
            self._retire(db, USER_TOKEN, name, row[0], keep_old_until)
            self._bump(db, "clusters")
            self._audit(db, audit)
        return True

    def users(self) -> list[UserRecord]:
        with self._single() as db:
            rows = db.execute("SELECT name, created FROM users ORDER BY name").fetchall()
            grants = db.execute("SELECT username, kind, target FROM grants ORDER BY username, kind, target").fetchall()
        by_user: dict[str, list[tuple[str, str]]] = {}
        for user, kind, target in grants:
            by_user.setdefault(user, []).append((kind, target))
        return [UserRecord(name, created, tuple(by_user.get(name, ()))) for name, created in rows]

    def user_for_token(self, token_hash: str) -> tuple[str, float] | None:
        with self._single() as db:
            row = db.execute("SELECT name, 0.0 FROM users WHERE token_hash = ? UNION ALL "
                             "SELECT owner, until FROM retiring_credentials WHERE kind = ? AND hash = ? AND until > ? "
                             "LIMIT 1", (token_hash, USER_TOKEN, token_hash, time.time())).fetchone()
        return (row[0], float(row[1])) if row else None

    def add_group(self, name: str, clusters: Sequence[str], audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            created = db.execute("INSERT INTO user_groups (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                                 (name, time.time())).rowcount == 1
            db.executemany("INSERT INTO group_clusters (grp, cluster) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           [(name, cluster) for cluster in clusters])
            self._bump(db, "clusters")
            self._audit(db, audit)
        return created

    def remove_group(self, name: str, audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            if not db.execute("DELETE FROM user_groups WHERE name = ?", (name,)).rowcount:
                return False
            db.execute("DELETE FROM group_clusters WHERE grp = ?", (name,))
            db.execute("DELETE FROM grants WHERE kind = 'group' AND target = ?", (name,))
            self._bump(db, "clusters")
            self._audit(db, audit)
        return True

    def groups(self) -> list[GroupRecord]:
        with self._single() as db:
            rows = db.execute("SELECT g.name, c.cluster FROM user_groups g LEFT JOIN group_clusters c "
                              "ON c.grp = g.name ORDER BY g.name, c.cluster").fetchall()
        found: dict[str, list[str]] = {}
        for name, cluster in rows:
            found.setdefault(name, [])
            if cluster is not None:
                found[name].append(cluster)
        return [GroupRecord(name, tuple(clusters)) for name, clusters in found.items()]

    def grant(self, username: str, kind: str, target: str, audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            if not db.execute("SELECT 1 FROM users WHERE name = ?", (username,)).fetchone():
                return False
            if kind == "group" and not db.execute("SELECT 1 FROM user_groups WHERE name = ?", (target,)).fetchone():
                return False
            db.execute("INSERT INTO grants (username, kind, target) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                       (username, kind, target))
            self._bump(db, "clusters")
            self._audit(db, audit)
        return True

    def revoke(self, username: str, kind: str, target: str, audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            if not db.execute("DELETE FROM grants WHERE username = ? AND kind = ? AND target = ?",
                              (username, kind, target)).rowcount:
                return False
            self._bump(db, "clusters")
            self._audit(db, audit)
        return True

    def user_clusters(self, username: str) -> list[str]:
        with self._single() as db:
            rows = db.execute("SELECT target FROM grants WHERE username = ? AND kind = 'cluster' UNION "
                              "SELECT c.cluster FROM grants g JOIN group_clusters c ON c.grp = g.target "
                              "WHERE g.username = ? AND g.kind = 'group' ORDER BY 1", (username, username)).fetchall()
        return [row[0] for row in rows]

    def add_audit(self, entry: AuditEntry) -> int:
        with self._write() as db:
            return self._audit(db, entry)

    def audit_log(self, after_id: int = 0, limit: int = 100) -> list[AuditRecord]:
        with self._single() as db:
            rows = db.execute("SELECT id, at, action, subject, detail FROM audit WHERE id > ? ORDER BY id LIMIT ?",
                              (after_id, limit if limit > 0 else -1)).fetchall()
        return [AuditRecord(*row) for row in rows]

    def user_jobs(self, username: str, after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        columns = ", ".join(f"j.{c.strip()}" for c in _JOB_COLUMNS.split(","))
        with self._single() as db:
            rows = db.execute(f"SELECT {columns} FROM job_users u JOIN jobs j ON j.id = u.job "
                              "WHERE u.username = ? AND u.job > ? ORDER BY u.job LIMIT ?",
                              (username, after_id, limit if limit > 0 else -1)).fetchall()
        return [_job(row) for row in rows]

    # -- rotation ---------------------------------------------------------------------------------------------
    @staticmethod
    def _retire(db: sqlite3.Connection, kind: str, owner: str, old_hash: str, until: float) -> None:
        now = time.time()
        db.execute("DELETE FROM retiring_credentials WHERE until <= ?", (now,))
        if until > now and old_hash:
            db.execute("INSERT INTO retiring_credentials (kind, owner, hash, until) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (kind, owner, hash) DO UPDATE SET until = excluded.until",
                       (kind, owner, old_hash, until))

    def retiring_hashes(self, kind: str, owner: str = "") -> list[str]:
        with self._single() as db:
            rows = db.execute("SELECT hash FROM retiring_credentials WHERE kind = ? AND owner = ? AND until > ?",
                              (kind, owner, time.time())).fetchall()
        return [row[0] for row in rows]

    def rotate_cluster_credential(self, name: str, kind: str, new_hash: str, keep_old_until: float = 0.0,
                                  audit: AuditEntry | None = None) -> bool:
        column = {CLUSTER_TOKEN: "token_hash", CLUSTER_SECRET: "secret_hash"}[kind]  # never input
        with self._write() as db:
            row = db.execute(f"SELECT {column} FROM clusters WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            revision = self._bump(db, "clusters")
            db.execute(f"UPDATE clusters SET {column} = ?, revision = ? WHERE name = ?", (new_hash, revision, name))
            self._retire(db, kind, name, row[0], keep_old_until)
            self._audit(db, audit)
        return True

    def rotate_setting(self, key: str, kind: str, new_hash: str, keep_old_until: float = 0.0,
                       audit: AuditEntry | None = None) -> bool:
        with self._write() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE meta SET value = ? WHERE key = ?", (new_hash, key))
            self._retire(db, kind, "", row[0], keep_old_until)
            self._bump(db, "clusters")
            self._audit(db, audit)
        return True

    def replace_graph(self, cluster: str, graph: str, audit: AuditEntry | None = None) -> int:
        with self._write() as db:
            if not db.execute("UPDATE graphs SET jgf = ?, created = ? WHERE cluster = ? AND subsystem = ''",
                              (graph, time.time(), cluster)).rowcount:
                return 0
            revision = self._bump(db, "clusters")
            db.execute("UPDATE clusters SET revision = ? WHERE name = ?", (revision, cluster))
            self._audit(db, audit)
        return revision

    def close(self) -> None:
        with self._peek_lock:
            if self._peek_db is not None:
                self._peek_db.close()
                self._peek_db = None
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
