"""Admin calls (users, groups, grants, the audit trail) and credential rotation, on top of a Scheduler.

Every admin call is checked against the admin token the store keeps (read on each call, so a token rotated through
another server is refused here at once), logged in one line, and recorded in the audit table in the same
transaction as its change. Rotation replaces a credential's hash; with an overlap the old hash stays in the store
until its time, so every server accepts both until then and refuses the old one after.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Sequence

from compspec.schemas import FormatError
from rainbow.graph import build_index, parse_graph, parse_subsystem
from rainbow.server.auth import credential_matches, hash_credential, new_credential
from rainbow.server.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from rainbow.server.limits import check_name, input_errors, require
from rainbow.server.scheduler import Scheduler
from rainbow.store import (ADMIN_TOKEN, ADMIN_TOKEN_HASH, CLUSTER_SECRET, CLUSTER_TOKEN, CREDENTIAL_KINDS,
                           GRANT_KINDS, REGISTRATION_SECRET, REGISTRATION_SECRET_HASH, USER_TOKEN, AuditEntry,
                           AuditRecord, GroupRecord, JobRecord, UserRecord)

log = logging.getLogger("rainbow.server")

# The longest overlap a rotation may give the old credential (30 days).
MAX_OVERLAP_SECONDS = 30 * 86400
# Rows of the audit trail in one answer.
MAX_AUDIT_PAGE = 1000


@dataclass(frozen=True)
class Rotated:
    credential: str
    old_until: float


class Access:
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.store = scheduler.store
        self.limits = scheduler.limits

    # -- checks ---------------------------------------------------------------------------------------------------
    def _matches(self, stored: str | None, kind: str, owner: str, given: str) -> bool:
        """The current credential, or one being rotated out whose overlap still runs."""
        if credential_matches(stored, given):
            return True
        return bool(given) and any(credential_matches(old, given) for old in self.store.retiring_hashes(kind, owner))

    def is_admin(self, token: str) -> bool:
        stored = self.store.get_setting(ADMIN_TOKEN_HASH)
        return stored is not None and self._matches(stored, ADMIN_TOKEN, "", token)

    def _admin(self, token: str) -> None:
        if self.store.get_setting(ADMIN_TOKEN_HASH) is None:
            raise FailedPrecondition("no admin token is set: start rainbow serve with --admin-token")
        if not self.is_admin(token):
            raise PermissionDenied("admin token is missing or not valid")

    @staticmethod
    def _audited(write, *args, audit: AuditEntry, always: bool = False):
        """Run a store write that records `audit` in its transaction; when it wrote (or `always`: it writes either
        way), say so in one log line."""
        done = write(*args, audit=audit) if args else write(audit)
        if done or always:
            log.info("admin: %s %s%s", audit.action, audit.subject, f" ({audit.detail})" if audit.detail else "")
        return done

    def _overlap(self, seconds: float) -> float:
        if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_OVERLAP_SECONDS:
            raise InvalidArgument(f"overlap_seconds: must be between 0 and {MAX_OVERLAP_SECONDS}")
        return time.time() + seconds if seconds > 0 else 0.0

    # -- users ----------------------------------------------------------------------------------------------------
    def add_user(self, admin_token: str, name: str) -> str:
        self._admin(admin_token)
        check_name(self.limits, "name", name)
        token = new_credential()
        if not self._audited(self.store.add_user, name, hash_credential(token), audit=AuditEntry("user add", name)):
            raise FailedPrecondition(f"user {name} exists")
        return token

    def remove_user(self, admin_token: str, name: str) -> None:
        self._admin(admin_token)
        check_name(self.limits, "name", name)
        if not self._audited(self.store.remove_user, name, audit=AuditEntry("user remove", name)):
            raise NotFound(f"user {name} does not exist")

    def rotate_user(self, admin_token: str, name: str, overlap_seconds: float = 0.0) -> Rotated:
        self._admin(admin_token)
        return self._rotate_user(name, overlap_seconds)

    def _rotate_user(self, name: str, overlap_seconds: float) -> Rotated:
        check_name(self.limits, "name", name)
        until = self._overlap(overlap_seconds)
        token = new_credential()
        if not self._audited(self.store.set_user_token, name, hash_credential(token), until,
                             audit=AuditEntry("rotate", name, f"user-token, overlap {overlap_seconds:g}s")):
            raise NotFound(f"user {name} does not exist")
        return Rotated(token, until)

    def list_users(self, admin_token: str) -> list[tuple[UserRecord, list[str]]]:
        self._admin(admin_token)
        self._audited(self.store.add_audit, audit=AuditEntry("user list", ""))
        return [(user, self.store.user_clusters(user.name)) for user in self.store.users()]

    # -- groups and grants ----------------------------------------------------------------------------------------
    def add_group(self, admin_token: str, name: str, clusters: Sequence[str]) -> bool:
        self._admin(admin_token)
        check_name(self.limits, "name", name)
        for i, cluster in enumerate(clusters):
            check_name(self.limits, f"clusters[{i}]", cluster)
        return self._audited(self.store.add_group, name, sorted(set(clusters)),
                             audit=AuditEntry("group add", name, " ".join(clusters)), always=True)

    def remove_group(self, admin_token: str, name: str) -> None:
        self._admin(admin_token)
        check_name(self.limits, "name", name)
        if not self._audited(self.store.remove_group, name, audit=AuditEntry("group remove", name)):
            raise NotFound(f"group {name} does not exist")

    def list_groups(self, admin_token: str) -> list[GroupRecord]:
        self._admin(admin_token)
        self._audited(self.store.add_audit, audit=AuditEntry("group list", ""))
        return self.store.groups()

    def _grant_kind(self, target: str, kind: str) -> str:
        if kind:
            if kind not in GRANT_KINDS:
                raise InvalidArgument(f"kind: {kind[:40]!r} is not one of {', '.join(GRANT_KINDS)}")
            return kind
        group = any(g.name == target for g in self.store.groups())
        cluster = self.store.get_cluster(target) is not None
        if group and cluster:
            raise FailedPrecondition(f"{target} is both a group and a cluster: say which (--group or --cluster)")
        if not group and not cluster:
            raise NotFound(f"{target} is neither a group nor a registered cluster")
        return "group" if group else "cluster"

    def grant(self, admin_token: str, user: str, target: str, kind: str = "") -> str:
        self._admin(admin_token)
        check_name(self.limits, "user", user)
        check_name(self.limits, "target", target)
        kind = self._grant_kind(target, kind)
        if not self._audited(self.store.grant, user, kind, target,
                             audit=AuditEntry("grant", user, f"{kind} {target}")):
            raise NotFound(f"user {user} does not exist" if kind == "cluster" or any(
                g.name == target for g in self.store.groups()) else f"group {target} does not exist")
        return kind

    def revoke(self, admin_token: str, user: str, target: str, kind: str = "") -> str:
        self._admin(admin_token)
        check_name(self.limits, "user", user)
        check_name(self.limits, "target", target)
        kinds = [kind] if kind else list(GRANT_KINDS)
        for one in kinds:
            if self._audited(self.store.revoke, user, one, target,
                             audit=AuditEntry("revoke", user, f"{one} {target}")):
                return one
        raise NotFound(f"user {user} has no grant of {target}")

    def audit(self, admin_token: str, after_id: int = 0, limit: int = 0) -> list[AuditRecord]:
        self._admin(admin_token)
        if after_id < 0:
            raise InvalidArgument("after_id: must not be negative")
        page = MAX_AUDIT_PAGE if limit <= 0 else min(limit, MAX_AUDIT_PAGE)
        return self.store.audit_log(after_id, page)

    # -- a user's own view ----------------------------------------------------------------------------------------
    def user_jobs(self, token: str, after_id: int = 0, limit: int = 0) -> tuple[list[JobRecord], int]:
        self.scheduler.sync()
        user, _ = self.scheduler.user_for_token(token)
        if after_id < 0:
            raise InvalidArgument("after_id: must not be negative")
        page = self.limits.default_page_size if limit <= 0 else min(limit, self.limits.max_page_size)
        jobs = self.store.user_jobs(user, after_id, page + 1)
        more = len(jobs) > page
        jobs = jobs[:page]
        return jobs, (jobs[-1].id if more else 0)

    def whoami(self, token: str) -> tuple[str, tuple[str, ...]]:
        self.scheduler.sync()
        return self.scheduler.user_for_token(token)

    # -- rotation -------------------------------------------------------------------------------------------------
    def rotate(self, kind: str, name: str, credential: str, overlap_seconds: float = 0.0,
               new_value: str = "") -> Rotated:
        """Replace one credential. The caller shows the admin token, or the current credential of what is rotated
        (the cluster's secret for its token or secret, the user's token, the registration secret)."""
        if kind not in CREDENTIAL_KINDS:
            raise InvalidArgument(f"kind: {kind[:40]!r} is not one of {', '.join(CREDENTIAL_KINDS)}")
        if new_value and kind not in (REGISTRATION_SECRET, ADMIN_TOKEN):
            raise InvalidArgument(f"new_value: a {kind} is always made by the server")
        if new_value and len(new_value) < 16:
            raise InvalidArgument("new_value: at least 16 characters")
        admin = self.is_admin(credential)
        if kind == USER_TOKEN:
            if not admin:
                user, _ = self.scheduler.user_for_token(credential)
                if name and name != user:
                    raise PermissionDenied(f"a user token rotates only its own user's token, not {name}'s")
                name = user
            return self._rotate_user(require("name", name), overlap_seconds)
        if kind in (CLUSTER_TOKEN, CLUSTER_SECRET):
            check_name(self.limits, "name", name)
            record = self.store.get_cluster(name)
            if not admin and (record is None or not self._matches(record.secret_hash, CLUSTER_SECRET, name,
                                                                  credential)):
                raise PermissionDenied(f"cluster {name}: secret is missing or not valid")
            until = self._overlap(overlap_seconds)
            made = new_credential()
            if not self._audited(self.store.rotate_cluster_credential, name, kind, hash_credential(made), until,
                                 audit=AuditEntry("rotate", name, f"{kind}, overlap {overlap_seconds:g}s")):
                raise NotFound(f"cluster {name} is not registered")
            return Rotated(made, until)
        key = REGISTRATION_SECRET_HASH if kind == REGISTRATION_SECRET else ADMIN_TOKEN_HASH
        if not admin and not (kind == REGISTRATION_SECRET
                              and self._matches(self.store.get_setting(key), kind, "", credential)):
            raise PermissionDenied("admin token is missing or not valid" if kind == ADMIN_TOKEN
                                   else "admin token or registration secret is missing or not valid")
        until = self._overlap(overlap_seconds)
        made = new_value or new_credential()
        if not self._audited(self.store.rotate_setting, key, kind, hash_credential(made), until,
                             audit=AuditEntry("rotate", kind, f"overlap {overlap_seconds:g}s")):
            raise FailedPrecondition(f"no {kind} is set")
        return Rotated(made, until)

    # -- graphs ---------------------------------------------------------------------------------------------------
    def update_graph(self, cluster: str, secret: str, nodes: str) -> int:
        """Replace the cluster graph in place; the tokens, secret, subsystems, state and jobs stay."""
        scheduler = self.scheduler
        scheduler._cluster_for_secret(cluster, secret)
        require("nodes", nodes)
        with input_errors("nodes"):
            graph = parse_graph(nodes, "nodes")
            build_index(graph)
        with scheduler._graph_lock:
            stored = self.store.get_graphs(cluster)
            if stored is None:
                raise NotFound(f"cluster {cluster} is not registered")
            try:  # the subsystems stay, so they must fit the new graph before anything is written
                subsystems = {sub: parse_subsystem(text, sub, graph) for sub, text in stored.subsystems.items()}
                index = build_index(graph, subsystems)
            except FormatError as exc:
                raise InvalidArgument(f"nodes: the cluster's subsystems do not fit the new graph: {exc}") from None
            revision = self._audited(self.store.replace_graph, cluster, nodes,
                                     audit=AuditEntry("graph update", cluster, f"{graph.node_count} nodes"))
            if not revision:
                raise NotFound(f"cluster {cluster} is not registered")
            scheduler._revisions[cluster] = revision
            scheduler.matcher.set(cluster, index)
            scheduler._answers.bump()
        return graph.node_count
