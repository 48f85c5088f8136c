"""The PostgreSQL store: several servers share it, each through its own connection pool (psycopg 3).

Every write is an explicit transaction. When the connection breaks before COMMIT was sent (PostgreSQL restarted, a
pooled connection went stale), nothing was written and the whole transaction is tried again on a fresh connection;
when it breaks during COMMIT the outcome is unknown, and the caller gets a StoreError (the client sees UNAVAILABLE and
may retry, as after any lost answer). Reads are retried whenever the connection breaks.

Concurrency comes from PostgreSQL's row locks: a job is accepted by whichever UPDATE locks its row first (the other
finds it no longer pending), a submit takes a key-share lock on its cluster row so a concurrent delete waits for it
(and then removes the new pending job too), and leased receives skip rows another transaction holds
(`FOR UPDATE SKIP LOCKED`). Job ids come from one identity sequence, so they are unique across servers.
"""
from __future__ import annotations

import contextlib
import json
import hashlib
import time
import urllib.parse
from typing import Any, Callable, Iterable, Sequence, TypeVar

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from rainbow.store.base import (ACCEPTED, ASSIGNMENT_COLUMNS, CANCELLED, CLOSED, CLUSTER_SECRET, CLUSTER_TOKEN,
                                COPY_TABLES, FINAL_STATUSES, JOB_COLUMNS, MAX_JOB_ID, PENDING, USER_TOKEN, Assignment,
                                AssignmentRecord, AuditEntry, AuditRecord, Changes, ClusterGraphs, ClusterRecord,
                                GroupRecord, JobIdsExhausted, JobRecord, JobReport, JobSummary, Leadership, Store,
                                StoreError, UserRecord, job_from_row, names_json, owners_json, report_changes)
from rainbow.store.bids import BidStore
from rainbow.store.schema import bring_to_schema, load_schema

T = TypeVar("T")

SCHEMA_FILE = "data/store-schema-postgresql.yaml"
# How long a transaction whose connection broke before COMMIT keeps being retried (PostgreSQL restarting).
RETRY_SECONDS = 10.0
CONNECT_TIMEOUT = 10
# A key no other application is likely to use, held while a store's schema is created or upgraded.
_SCHEMA_LOCK = 0x7261696E626F77  # "rainbow"
_JOB_COLUMNS = JOB_COLUMNS
_FINAL = list(FINAL_STATUSES)
# A job as ReceiveJobs carries it (protocol.md: these five keys, always), made by the database in the same pass.
_WIRE_COLUMNS = ("id, json_build_object('id', id, 'cluster', cluster, 'name', name, 'jobspec', jobspec, "
                 "'command', '')::text")
_RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = urllib.parse.unquote(parts.username or "")
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


_job = job_from_row


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


class _Committing(Exception):
    """Internal marker: the connection broke while COMMIT was in flight."""


class _AdvisoryLock(Leadership):
    def __init__(self, conn: psycopg.Connection, key: int) -> None:
        self._conn: psycopg.Connection | None = conn
        self._key = key

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            except psycopg.Error:
                pass  # the session is gone, and the lock with it
            finally:
                self._conn.close()
                self._conn = None


class PostgreSQLStore(BidStore, Store):
    kind = "postgresql"

    def __init__(self, url: str, *, upgrade: bool = False, pool_size: int = 16) -> None:
        self.url = url
        self.location = redact(url)
        try:  # one plain connection first: a wrong host or database fails at once, with PostgreSQL's reason
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: cannot connect: {_first_line(exc)}") from None
        try:
            self._pool = ConnectionPool(url, min_size=min(2, pool_size), max_size=max(pool_size, 1),
                                        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                                        name="rainbow-store", timeout=CONNECT_TIMEOUT, open=False)
            self._closed = False
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except (psycopg.Error, PoolTimeout) as exc:
            self.close()
            raise StoreError(f"{self.location}: cannot connect: {_first_line(exc)}") from None
        try:
            self._prepare(upgrade)
        except BaseException:
            self.close()
            raise

    # -- running transactions -------------------------------------------------------------------------------
    def _run(self, work: Callable[[psycopg.Connection], T], *, write: bool, pipeline: bool = False) -> T:
        """Run `work` on a pooled connection (inside one transaction when `write`), retrying it while the
        connection broke before anything could have been committed.

        `pipeline` (for one-statement writes that read their result through RETURNING) sends BEGIN together with
        the statement and COMMIT with the final sync: two round trips instead of three.
        """
        deadline = time.monotonic() + RETRY_SECONDS
        delay = 0.02
        while True:
            if self._closed:
                raise StoreError("the store is closed")
            committing = False
            try:
                with self._pool.connection() as conn:
                    if not write:
                        return work(conn)
                    try:
                        with (conn.pipeline() if pipeline else contextlib.nullcontext()), conn.transaction():
                            result = work(conn)
                            committing = True
                    except psycopg.OperationalError as exc:
                        if committing:
                            raise _Committing(_first_line(exc)) from None
                        raise
                    return result
            except _Committing as exc:
                raise StoreError(f"{self.location}: connection lost while committing: {exc}") from None
            except (psycopg.OperationalError, PoolTimeout, *_RETRYABLE) as exc:
                retry = isinstance(exc, _RETRYABLE) or isinstance(exc, PoolTimeout) or _broken(exc)
                if not retry or time.monotonic() + delay > deadline:
                    raise StoreError(f"{self.location}: {_first_line(exc)}") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
            except JobIdsExhausted:
                raise
            except psycopg.Error as exc:
                raise StoreError(f"{self.location}: {_first_line(exc)}") from None

    def _read(self, work: Callable[[psycopg.Connection], T]) -> T:
        return self._run(work, write=False)

    def _write(self, work: Callable[[psycopg.Connection], T], *, pipeline: bool = False) -> T:
        return self._run(work, write=True, pipeline=pipeline)

    def _transact(self, work):
        """`work(execute)` in one write transaction, its SQL written with `?` placeholders."""
        return self._write(lambda conn: work(lambda sql, args=(): conn.execute(sql.replace("?", "%s"), args)))

    # -- schema -----------------------------------------------------------------------------------------------
    @staticmethod
    def _recorded_version(conn: psycopg.Connection) -> int:
        if conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
            return 1 if conn.execute("SELECT to_regclass('clusters')").fetchone()[0] is not None else 0
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 1

    def _prepare(self, upgrade: bool) -> None:
        schema = load_schema(SCHEMA_FILE)

        def work(conn: psycopg.Connection) -> None:
            # Servers starting together on an empty database: one creates the tables, the others wait for it.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            bring_to_schema(conn.execute, schema, self._recorded_version(conn), upgrade=upgrade, kind="PostgreSQL",
                            where=self.location, placeholder="%s")

        self._write(work)

    def schema_version(self) -> int:
        return self._read(self._recorded_version)

    def get_setting(self, key: str) -> str | None:
        row = self._read(lambda c: c.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone())
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        def work(conn):
            conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
            _bump(conn, "clusters")

        self._write(work)

    def setdefault_setting(self, key: str, value: str) -> str:
        def work(conn) -> str:
            if conn.execute("INSERT INTO meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
                            (key, value)).rowcount:
                _bump(conn, "clusters")
            return conn.execute("SELECT value FROM meta WHERE key = %s", (key,)).fetchone()[0]

        return self._write(work)

    def changes(self) -> Changes:
        row = self._read(lambda c: c.execute("SELECT clusters, states FROM changes WHERE id = 1").fetchone())
        return Changes(row[0], row[1])

    def cluster_revisions(self) -> dict[str, tuple[int, str]]:
        rows = self._read(lambda c: c.execute("SELECT name, revision, token_hash FROM clusters").fetchall())
        return {name: (revision, token) for name, revision, token in rows}

    def states_since(self, revision: int) -> dict[str, str]:
        rows = self._read(lambda c: c.execute("SELECT cluster, payload FROM states WHERE revision > %s",
                                              (revision,)).fetchall())
        return dict(rows)

    def try_leadership(self, name: str) -> Leadership | None:
        key = _lock_key(name)
        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise StoreError(f"{self.location}: cannot connect: {_first_line(exc)}") from None
        try:
            held = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"{self.location}: {_first_line(exc)}") from None
        if not held:
            conn.close()
            return None
        return _AdvisoryLock(conn, key)

    # -- copying ----------------------------------------------------------------------------------------------
    def rows(self, table: str) -> Iterable[tuple]:
        columns = COPY_TABLES[table]  # KeyError for anything else: the names below are never input
        return self._read(lambda c: c.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2").fetchall())

    def load_rows(self, table: str, rows: Iterable[tuple]) -> int:
        columns = COPY_TABLES[table]
        marks = ", ".join("%s" for _ in columns)
        conflict = " ON CONFLICT (key) DO UPDATE SET value = excluded.value" if table == "meta" else ""
        rows = [row for row in rows if not (table == "meta" and row[0] == "schema_version")]

        def work(conn):
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){conflict}", rows)
            if table in ("jobs", "audit"):  # never input: one of two literal names
                conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                             f"GREATEST((SELECT max(id) FROM {table}), 1))")
            _bump(conn, "clusters")
            _bump(conn, "states")

        self._write(work)
        return len(rows)

    # -- clusters ---------------------------------------------------------------------------------------------
    def register_cluster(self, name: str, token_hash: str, secret_hash: str, graph: str) -> int:
        now = time.time()

        def work(conn) -> int:
            row = conn.execute("INSERT INTO clusters (name, token_hash, secret_hash, created) VALUES (%s, %s, %s, %s) "
                               "ON CONFLICT (name) DO NOTHING RETURNING name",
                               (name, token_hash, secret_hash, now)).fetchone()
            if row is None:
                return 0
            revision = _bump(conn, "clusters")
            conn.execute("UPDATE clusters SET revision = %s WHERE name = %s", (revision, name))
            conn.execute("INSERT INTO graphs (cluster, subsystem, jgf, created) VALUES (%s, '', %s, %s)",
                         (name, graph, now))
            return revision

        return self._write(work)

    def get_cluster(self, name: str) -> ClusterRecord | None:
        row = self._read(lambda c: c.execute("SELECT name, token_hash, secret_hash, created FROM clusters "
                                             "WHERE name = %s", (name,)).fetchone())
        return ClusterRecord(*row) if row else None

    def get_clusters(self, names: Iterable[str]) -> dict[str, ClusterRecord]:
        wanted = sorted(set(names))
        rows = self._read(lambda c: c.execute("SELECT name, token_hash, secret_hash, created FROM clusters "
                                              "WHERE name = ANY(%s)", (wanted,)).fetchall())
        return {row[0]: ClusterRecord(*row) for row in rows}

    def cluster_names(self) -> list[str]:
        rows = self._read(lambda c: c.execute("SELECT name FROM clusters ORDER BY name").fetchall())
        return [row[0] for row in rows]

    def delete_cluster(self, name: str) -> bool:
        def work(conn) -> bool:
            if conn.execute("DELETE FROM clusters WHERE name = %s", (name,)).rowcount == 0:
                return False
            # graphs and states go by ON DELETE CASCADE
            conn.execute("DELETE FROM assignments WHERE job IN (SELECT id FROM jobs WHERE cluster = %s "
                         "AND state = %s)", (name, PENDING))
            conn.execute("DELETE FROM jobs WHERE cluster = %s AND state = %s", (name, PENDING))
            conn.execute("UPDATE jobs SET retired = 1 WHERE cluster = %s AND retired = 0", (name,))
            conn.execute("DELETE FROM retiring_credentials WHERE kind IN (%s, %s) AND owner = %s",
                         (CLUSTER_TOKEN, CLUSTER_SECRET, name))
            _bump(conn, "clusters")
            return True

        return self._write(work)

    # -- graphs -----------------------------------------------------------------------------------------------
    def get_graphs(self, cluster: str) -> ClusterGraphs | None:
        rows = self._read(lambda c: c.execute("SELECT subsystem, jgf FROM graphs WHERE cluster = %s "
                                              "ORDER BY subsystem", (cluster,)).fetchall())
        return ClusterGraphs.from_rows(cluster, rows)

    def add_subsystem(self, cluster: str, subsystem: str, graph: str) -> int:
        if not subsystem:
            raise ValueError("a subsystem needs a name")

        def work(conn) -> int:
            # Lock the cluster row: a concurrent delete waits, and so does another subsystem change of it.
            if conn.execute("SELECT 1 FROM clusters WHERE name = %s FOR UPDATE", (cluster,)).fetchone() is None:
                return 0
            row = conn.execute("INSERT INTO graphs (cluster, subsystem, jgf, created) VALUES (%s, %s, %s, %s) "
                               "ON CONFLICT (cluster, subsystem) DO NOTHING RETURNING subsystem",
                               (cluster, subsystem, graph, time.time())).fetchone()
            if row is None:
                return 0
            revision = _bump(conn, "clusters")
            conn.execute("UPDATE clusters SET revision = %s WHERE name = %s", (revision, cluster))
            return revision

        return self._write(work)

    def delete_subsystem(self, cluster: str, subsystem: str) -> int:
        if not subsystem:
            return 0

        def work(conn) -> int:
            if conn.execute("SELECT 1 FROM clusters WHERE name = %s FOR UPDATE", (cluster,)).fetchone() is None:
                return 0
            if conn.execute("DELETE FROM graphs WHERE cluster = %s AND subsystem = %s",
                            (cluster, subsystem)).rowcount == 0:
                return 0
            revision = _bump(conn, "clusters")
            conn.execute("UPDATE clusters SET revision = %s WHERE name = %s", (revision, cluster))
            return revision

        return self._write(work)

    # -- state ------------------------------------------------------------------------------------------------
    def set_state(self, cluster: str, payload: str) -> bool:
        def work(conn) -> bool:
            if conn.execute("SELECT 1 FROM clusters WHERE name = %s FOR KEY SHARE", (cluster,)).fetchone() is None:
                return False
            revision = _bump(conn, "states")
            conn.execute("INSERT INTO states (cluster, payload, updated, revision) VALUES (%s, %s, %s, %s) "
                         "ON CONFLICT (cluster) DO UPDATE SET payload = excluded.payload, "
                         "updated = excluded.updated, revision = excluded.revision",
                         (cluster, payload, time.time(), revision))
            return True

        return self._write(work)

    def get_states(self, clusters: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(clusters))
        rows = self._read(lambda c: c.execute("SELECT cluster, payload FROM states WHERE cluster = ANY(%s)",
                                              (wanted,)).fetchall())
        return dict(rows)

    # -- jobs -------------------------------------------------------------------------------------------------
    def add_job(self, cluster: str, name: str, jobspec: str, user: str = "", owners: Sequence[str] = (),
                candidates: Sequence[str] = (), assignment: Assignment | None = None) -> int | None:
        now = time.time()

        def work(conn) -> int | None:
            # The key-share lock on the cluster row makes a concurrent delete wait until this job is committed
            # (and then remove it with the cluster's other pending jobs).
            row = conn.execute("INSERT INTO jobs (cluster, name, jobspec, state, submitted, owners, candidates) "
                               "SELECT name, %s, %s, %s, %s, %s, %s FROM clusters WHERE name = %s FOR KEY SHARE "
                               "RETURNING id", (name, jobspec, PENDING, now, owners_json(owners),
                                                names_json(candidates), cluster)).fetchone()
            if row is None:
                return None
            if row[0] > MAX_JOB_ID:  # raising rolls the insert back
                raise JobIdsExhausted(f"job id {row[0]} does not fit the wire format (int32)")
            if user:
                conn.execute("INSERT INTO job_users (job, username) VALUES (%s, %s)", (row[0], user))
            if assignment is not None:
                conn.execute("INSERT INTO assignments (job, cluster, algorithm, reason, others, made) "
                             "VALUES (%s, %s, %s, %s, %s, %s)", (row[0], cluster, assignment.algorithm,
                                                                 assignment.reason, assignment.others_json(), now))
            return row[0]

        return self._write(work, pipeline=not user)

    def pending_jobs(self, cluster: str, limit: int = 0, lease_seconds: float = 0.0) -> list[JobRecord]:
        return [_job(row) for row in self._pending(cluster, limit, lease_seconds, _JOB_COLUMNS)]

    def pending_job_texts(self, cluster: str, limit: int = 0, lease_seconds: float = 0.0) -> list[tuple[int, str]]:
        return self._pending(cluster, limit, lease_seconds, _WIRE_COLUMNS)

    def _pending(self, cluster: str, limit: int, lease_seconds: float, columns: str) -> list[tuple]:
        size = limit if limit > 0 else None
        if lease_seconds > 0:
            def work(conn) -> list[tuple]:
                return conn.execute(
                    "WITH now AS (SELECT extract(epoch FROM clock_timestamp())::double precision AS t) "
                    f"UPDATE jobs SET leased_until = (SELECT t FROM now) + %s WHERE id IN ("
                    "SELECT id FROM jobs WHERE cluster = %s AND state = %s AND retired = 0 "
                    "AND (leased_until IS NULL OR leased_until <= (SELECT t FROM now)) "
                    f"ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {columns}",
                    (lease_seconds, cluster, PENDING, size)).fetchall()

            return sorted(self._write(work, pipeline=True), key=lambda row: row[0])
        return self._read(lambda c: c.execute(f"SELECT {columns} FROM jobs WHERE cluster = %s AND state = %s "
                                              "AND retired = 0 ORDER BY id LIMIT %s",
                                              (cluster, PENDING, size)).fetchall())

    def accept_jobs(self, cluster: str, ids: Sequence[int]) -> list[int]:
        wanted = sorted({int(i) for i in ids})
        rows = self._write(lambda c: c.execute(
            "UPDATE jobs SET state = %s, accepted = %s WHERE cluster = %s AND state = %s AND retired = 0 "
            "AND id = ANY(%s) RETURNING id", (ACCEPTED, time.time(), cluster, PENDING, wanted)).fetchall(),
            pipeline=True)
        return sorted(row[0] for row in rows)

    def list_jobs(self, cluster: str, state: str = "", after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        sql = f"SELECT {_JOB_COLUMNS} FROM jobs WHERE cluster = %s AND id > %s AND retired = 0"
        args: list[Any] = [cluster, after_id]
        if state:
            sql += " AND state = %s"
            args.append(state)
        sql += " ORDER BY id LIMIT %s"
        args.append(limit if limit > 0 else None)
        return [_job(row) for row in self._read(lambda c: c.execute(sql, args).fetchall())]

    def get_job(self, job_id: int) -> JobRecord | None:
        row = self._read(lambda c: c.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s",
                                             (job_id,)).fetchone())
        return _job(row) if row else None

    def report_job(self, cluster: str, job_id: int, report: JobReport) -> JobRecord | None:
        def work(conn) -> JobRecord | None:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s AND cluster = %s AND retired = 0 "
                               "FOR UPDATE", (job_id, cluster)).fetchone()
            if row is None:
                return None
            changes = report_changes(_job(row), report, time.time())
            if not changes:
                return _job(row)
            # The column names come from report_changes, never from input.
            assignments = ", ".join(f"{column} = %s" for column in changes)
            return _job(conn.execute(f"UPDATE jobs SET {assignments} WHERE id = %s RETURNING {_JOB_COLUMNS}",
                                     (*changes.values(), job_id)).fetchone())

        return self._write(work)

    def requeue_job(self, job_id: int, from_cluster: str, to_cluster: str, reason: str) -> bool:
        def work(conn) -> bool:
            row = conn.execute("SELECT tried FROM jobs WHERE id = %s AND cluster = %s AND state = %s AND retired = 0 "
                               "FOR UPDATE", (job_id, from_cluster, PENDING)).fetchone()
            if row is None or conn.execute("SELECT 1 FROM clusters WHERE name = %s FOR KEY SHARE",
                                           (to_cluster,)).fetchone() is None:
                return False
            tried = json.dumps([*json.loads(row[0] or "[]"), from_cluster])
            conn.execute("UPDATE jobs SET cluster = %s, tried = %s, reason = %s, status = '', local_id = '', "
                         "leased_until = NULL, updated = %s WHERE id = %s",
                         (to_cluster, tried, reason, time.time(), job_id))
            return True

        return self._write(work)

    def cancel_job(self, job_id: int) -> JobRecord | None:
        def work(conn) -> JobRecord | None:
            now = time.time()
            conn.execute("UPDATE jobs SET state = %s, status = %s, ended = %s, updated = %s, cancel_requested = %s "
                         "WHERE id = %s AND state = %s", (CLOSED, CANCELLED, now, now, now, job_id, PENDING))
            conn.execute("UPDATE jobs SET cancel_requested = %s WHERE id = %s AND state = %s "
                         "AND status <> ALL(%s) AND cancel_requested IS NULL", (now, job_id, ACCEPTED, _FINAL))
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s", (job_id,)).fetchone()
            return _job(row) if row else None

        return self._write(work)

    def cancel_requests(self, cluster: str) -> list[JobRecord]:
        rows = self._read(lambda c: c.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE cluster = %s AND state = %s AND retired = 0 "
            "AND cancel_requested IS NOT NULL AND status <> ALL(%s) ORDER BY id", (cluster, ACCEPTED, _FINAL)
        ).fetchall())
        return [_job(row) for row in rows]

    def owned_jobs(self, token_hashes: Sequence[str], after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        wanted = sorted(set(token_hashes))
        rows = self._read(lambda c: c.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id > %s AND owners::jsonb ?| %s ORDER BY id LIMIT %s",
            (after_id, wanted, limit if limit > 0 else None)).fetchall())
        return [_job(row) for row in rows]

    def count_jobs(self, cluster: str | None = None, state: str = "") -> int:
        sql = "SELECT COUNT(*) FROM jobs WHERE retired = 0"
        args: list[Any] = []
        if cluster is not None:
            sql += " AND cluster = %s"
            args.append(cluster)
        if state:
            sql += " AND state = %s"
            args.append(state)
        return self._read(lambda c: c.execute(sql, args).fetchone()[0])

    def get_job(self, job_id: int) -> JobRecord | None:
        row = self._read(lambda c: c.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = %s",
                                             (job_id,)).fetchone())
        return _job(row) if row else None

    def get_assignment(self, job_id: int) -> AssignmentRecord | None:
        row = self._read(lambda c: c.execute(f"SELECT {ASSIGNMENT_COLUMNS} FROM assignments a JOIN jobs j "
                                             "ON j.id = a.job WHERE a.job = %s", (job_id,)).fetchone())
        return AssignmentRecord.from_row(row) if row else None

    def latest_assignments(self, limit: int = 20) -> list[AssignmentRecord]:
        rows = self._read(lambda c: c.execute(f"SELECT {ASSIGNMENT_COLUMNS} FROM assignments a JOIN jobs j "
                                              "ON j.id = a.job ORDER BY a.job DESC LIMIT %s",
                                              (max(limit, 0),)).fetchall())
        return [AssignmentRecord.from_row(row) for row in rows]

    def job_summary(self) -> JobSummary:
        rows = self._read(lambda c: c.execute("SELECT state, COUNT(*), MIN(submitted) FROM jobs WHERE retired = 0 "
                                              "GROUP BY state").fetchall())
        oldest = next((row[2] for row in rows if row[0] == PENDING), None)
        return JobSummary({row[0]: row[1] for row in rows}, oldest)

    def state_times(self) -> dict[str, float]:
        return dict(self._read(lambda c: c.execute("SELECT cluster, updated FROM states").fetchall()))

    def active_jobs(self, clusters: Sequence[str]) -> dict[str, int]:
        rows = self._read(lambda c: c.execute(
            "SELECT cluster, COUNT(*) FROM jobs WHERE retired = 0 AND state IN (%s, %s) AND status <> ALL(%s) "
            "AND cluster = ANY(%s) GROUP BY cluster", (PENDING, ACCEPTED, _FINAL, list(clusters))).fetchall())
        return {cluster: count for cluster, count in rows}


    # -- users, groups, grants --------------------------------------------------------------------------------
    def add_user(self, name: str, token_hash: str, audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            if conn.execute("INSERT INTO users (name, token_hash, created) VALUES (%s, %s, %s) "
                            "ON CONFLICT (name) DO NOTHING", (name, token_hash, time.time())).rowcount == 0:
                return False
            _bump(conn, "clusters")
            _audit(conn, audit)
            return True

        return self._write(work)

    def remove_user(self, name: str, audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            if conn.execute("DELETE FROM users WHERE name = %s", (name,)).rowcount == 0:
                return False
            # grants go by ON DELETE CASCADE
            conn.execute("DELETE FROM retiring_credentials WHERE kind = %s AND owner = %s", (USER_TOKEN, name))
            _bump(conn, "clusters")
            _audit(conn, audit)
            return True

        return self._write(work)

    def set_user_token(self, name: str, token_hash: str, keep_old_until: float = 0.0,
                       audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            row = conn.execute("SELECT token_hash FROM users WHERE name = %s FOR UPDATE", (name,)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE users SET token_hash = %s WHERE name = %s", (token_hash, name))
            _retire(conn, USER_TOKEN, name, row[0], keep_old_until)
            _bump(conn, "clusters")
            _audit(conn, audit)
            return True

        return self._write(work)

    def users(self) -> list[UserRecord]:
        def work(conn):
            return (conn.execute("SELECT name, created FROM users ORDER BY name").fetchall(),
                    conn.execute("SELECT username, kind, target FROM grants ORDER BY username, kind, target"
                                 ).fetchall())

        rows, grants = self._read(work)
        by_user: dict[str, list[tuple[str, str]]] = {}
        for user, kind, target in grants:
            by_user.setdefault(user, []).append((kind, target))
        return [UserRecord(name, created, tuple(by_user.get(name, ()))) for name, created in rows]

    def user_for_token(self, token_hash: str) -> tuple[str, float] | None:
        row = self._read(lambda c: c.execute(
            "SELECT name, 0.0 FROM users WHERE token_hash = %s UNION ALL "
            "SELECT owner, until FROM retiring_credentials WHERE kind = %s AND hash = %s AND until > %s LIMIT 1",
            (token_hash, USER_TOKEN, token_hash, time.time())).fetchone())
        return (row[0], float(row[1])) if row else None

    def add_group(self, name: str, clusters: Sequence[str], audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            created = conn.execute("INSERT INTO user_groups (name, created) VALUES (%s, %s) "
                                   "ON CONFLICT (name) DO NOTHING", (name, time.time())).rowcount == 1
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO group_clusters (grp, cluster) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                                [(name, cluster) for cluster in clusters])
            _bump(conn, "clusters")
            _audit(conn, audit)
            return created

        return self._write(work)

    def remove_group(self, name: str, audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            if conn.execute("DELETE FROM user_groups WHERE name = %s", (name,)).rowcount == 0:
                return False
            conn.execute("DELETE FROM grants WHERE kind = 'group' AND target = %s", (name,))
            _bump(conn, "clusters")
            _audit(conn, audit)
            return True

        return self._write(work)

    def groups(self) -> list[GroupRecord]:
        rows = self._read(lambda c: c.execute("SELECT g.name, c.cluster FROM user_groups g LEFT JOIN group_clusters c "
                                              "ON c.grp = g.name ORDER BY g.name, c.cluster").fetchall())
        found: dict[str, list[str]] = {}
        for name, cluster in rows:
            found.setdefault(name, [])
            if cluster is not None:
                found[name].append(cluster)
        return [GroupRecord(name, tuple(clusters)) for name, clusters in found.items()]

    def grant(self, username: str, kind: str, target: str, audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            if conn.execute("SELECT 1 FROM users WHERE name = %s FOR KEY SHARE", (username,)).fetchone() is None:
                return False
            if kind == "group" and conn.execute("SELECT 1 FROM user_groups WHERE name = %s FOR KEY SHARE",
                                                (target,)).fetchone() is None:
                return False
            conn.execute("INSERT INTO grants (username, kind, target) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                         (username, kind, target))
            _bump(conn, "clusters")
            _audit(conn, audit)
            return True

        return self._write(work)

    def revoke(self, username: str, kind: str, target: str, audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            if conn.execute("DELETE FROM grants WHERE username = %s AND kind = %s AND target = %s",
                            (username, kind, target)).rowcount == 0:
                return False
            _bump(conn, "clusters")
            _audit(conn, audit)
            return True

        return self._write(work)

    def user_clusters(self, username: str) -> list[str]:
        rows = self._read(lambda c: c.execute(
            "SELECT target FROM grants WHERE username = %s AND kind = 'cluster' UNION "
            "SELECT c.cluster FROM grants g JOIN group_clusters c ON c.grp = g.target "
            "WHERE g.username = %s AND g.kind = 'group' ORDER BY 1", (username, username)).fetchall())
        return [row[0] for row in rows]

    def add_audit(self, entry: AuditEntry) -> int:
        return self._write(lambda c: _audit(c, entry))

    def audit_log(self, after_id: int = 0, limit: int = 100) -> list[AuditRecord]:
        rows = self._read(lambda c: c.execute(
            "SELECT id, at, action, subject, detail FROM audit WHERE id > %s ORDER BY id LIMIT %s",
            (after_id, limit if limit > 0 else None)).fetchall())
        return [AuditRecord(*row) for row in rows]

    def user_jobs(self, username: str, after_id: int = 0, limit: int = 100) -> list[JobRecord]:
        columns = ", ".join(f"j.{c.strip()}" for c in _JOB_COLUMNS.split(","))
        rows = self._read(lambda c: c.execute(
            f"SELECT {columns} FROM job_users u JOIN jobs j ON j.id = u.job WHERE u.username = %s AND u.job > %s "
            "ORDER BY u.job LIMIT %s", (username, after_id, limit if limit > 0 else None)).fetchall())
        return [_job(row) for row in rows]

    # -- rotation ---------------------------------------------------------------------------------------------
    def retiring_hashes(self, kind: str, owner: str = "") -> list[str]:
        rows = self._read(lambda c: c.execute(
            "SELECT hash FROM retiring_credentials WHERE kind = %s AND owner = %s AND until > %s",
            (kind, owner, time.time())).fetchall())
        return [row[0] for row in rows]

    def rotate_cluster_credential(self, name: str, kind: str, new_hash: str, keep_old_until: float = 0.0,
                                  audit: AuditEntry | None = None) -> bool:
        column = {CLUSTER_TOKEN: "token_hash", CLUSTER_SECRET: "secret_hash"}[kind]  # never input

        def work(conn) -> bool:
            row = conn.execute(f"SELECT {column} FROM clusters WHERE name = %s FOR UPDATE", (name,)).fetchone()
            if row is None:
                return False
            revision = _bump(conn, "clusters")
            conn.execute(f"UPDATE clusters SET {column} = %s, revision = %s WHERE name = %s",
                         (new_hash, revision, name))
            _retire(conn, kind, name, row[0], keep_old_until)
            _audit(conn, audit)
            return True

        return self._write(work)

    def rotate_setting(self, key: str, kind: str, new_hash: str, keep_old_until: float = 0.0,
                       audit: AuditEntry | None = None) -> bool:
        def work(conn) -> bool:
            row = conn.execute("SELECT value FROM meta WHERE key = %s FOR UPDATE", (key,)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE meta SET value = %s WHERE key = %s", (new_hash, key))
            _retire(conn, kind, "", row[0], keep_old_until)
            _bump(conn, "clusters")
            _audit(conn, audit)
            return True

        return self._write(work)

    def replace_graph(self, cluster: str, graph: str, audit: AuditEntry | None = None) -> int:
        def work(conn) -> int:
            if conn.execute("SELECT 1 FROM clusters WHERE name = %s FOR UPDATE", (cluster,)).fetchone() is None:
                return 0
            if conn.execute("UPDATE graphs SET jgf = %s, created = %s WHERE cluster = %s AND subsystem = ''",
                            (graph, time.time(), cluster)).rowcount == 0:
                return 0
            revision = _bump(conn, "clusters")
            conn.execute("UPDATE clusters SET revision = %s WHERE name = %s", (revision, cluster))
            _audit(conn, audit)
            return revision

        return self._write(work)

    def close(self) -> None:
        self._closed = True
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()


def _bump(conn: psycopg.Connection, counter: str) -> int:
    # `counter` is one of two literal column names chosen by this module, never input.
    return conn.execute(f"UPDATE changes SET {counter} = {counter} + 1 WHERE id = 1 RETURNING {counter}"
                        ).fetchone()[0]


def _audit(conn: psycopg.Connection, entry: AuditEntry | None) -> int:
    if entry is None:
        return 0
    return conn.execute("INSERT INTO audit (at, action, subject, detail) VALUES (%s, %s, %s, %s) RETURNING id",
                        (time.time(), entry.action, entry.subject, entry.detail)).fetchone()[0]


def _retire(conn: psycopg.Connection, kind: str, owner: str, old_hash: str, until: float) -> None:
    now = time.time()
    conn.execute("DELETE FROM retiring_credentials WHERE until <= %s", (now,))
    if until > now and old_hash:
        conn.execute("INSERT INTO retiring_credentials (kind, owner, hash, until) VALUES (%s, %s, %s, %s) "
                     "ON CONFLICT (kind, owner, hash) DO UPDATE SET until = excluded.until",
                     (kind, owner, old_hash, until))


def _broken(exc: BaseException) -> bool:
    """A lost or refused connection (worth another try), not an error in what was asked."""
    if isinstance(exc, (pg_errors.AdminShutdown, pg_errors.CannotConnectNow)):
        return True
    return getattr(exc, "sqlstate", None) is None or str(getattr(exc, "sqlstate", "")).startswith("08")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
