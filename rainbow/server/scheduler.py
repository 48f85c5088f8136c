"""What each request does: check credentials and limits, call the matching engine and the store.

The servicers only translate between protobuf and these methods; this layer only orchestrates (the matching,
selection and graph semantics live in rainbow.graph / match / select, persistence in rainbow.store). It keeps the
per-cluster match indexes in memory and the full graphs in the store, and rebuilds the indexes from the store on
start, so a restart loses nothing.

For speed on the submit path it also keeps, in memory, each cluster's token hash and state and the answers of
repeated submissions. Several servers may share one store (PostgreSQL): every request that answers from these
caches first reads the store's change counters (one small query) and reloads what another server changed, so a
change committed before a request starts is always seen by it: a deleted cluster's token stops working on every
server at once, a new state is used by the next submit anywhere.
"""
from __future__ import annotations

import functools
import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from itertools import chain
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from compspec.compat import Mappings
from compspec.schemas import FormatError
from rainbow.graph import build_index, parse_graph
from rainbow.graph.templates import ElasticIndex, cluster_index, elastic_index
from rainbow.jobspec import parse_jobspec
from rainbow.match import Matcher
from rainbow.match.elastic import Plan
from rainbow.select import Context, Preset, select
from rainbow.server.bidding import BID, BidSettings, Bidding, bid_options
from rainbow.server.cache import GenerationCache, digest
from rainbow.server.auth import credential_matches, hash_credential, new_credential
from rainbow.server.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from rainbow.server.limits import (Limits, check_job_name, check_name, check_nesting, check_size, default_limits,
                                   input_errors, parse_state, require)
from rainbow.store import (ACCEPTED, CLUSTER_SECRET, CLUSTER_TOKEN, FAILED, JOB_STATES, JOB_STATUSES, PENDING,
                           REGISTRATION_SECRET, REGISTRATION_SECRET_HASH, Assignment, Changes, ClusterRecord,
                           JobIdsExhausted, JobRecord, JobReport, Store, StoreError)

log = logging.getLogger("rainbow.server")

# Jobs are often submitted many times with the same jobspec text (job arrays, retries); parsing is pure, so small
# jobspecs are parsed once.
_CACHED_JOBSPEC_BYTES = 64 * 1024

# Compared against when a cluster name is unknown, so that case takes the path a wrong secret takes; no secret
# hashes to it (it is the hash of a random credential nobody is given).
_NO_CLUSTER_HASH = hash_credential(new_credential())
# Users whose token lookups are kept between changes.
_MAX_CACHED_USERS = 10_000



SUCCESS = "success"
EXISTS = "exists"
NO_EXISTS = "no_exists"


@dataclass(frozen=True)
class RegisterOutcome:
    status: str  # SUCCESS or EXISTS
    token: str = ""
    secret: str = ""


@dataclass(frozen=True)
class SubmitOutcome:
    jobid: int
    cluster: str
    clusters: list[str]
    reasons: dict[str, str]
    user: str = ""


@dataclass(frozen=True)
class SatisfyOutcome:
    clusters: list[str]
    reasons: dict[str, str]
    total_clusters: int


@dataclass(frozen=True)
class AcceptOutcome:
    accepted: list[int]
    requested: int

    @property
    def complete(self) -> bool:
        return len(self.accepted) == self.requested


@dataclass(frozen=True)
class ReportOutcome:
    job: JobRecord
    requeued_to: str = ""


@dataclass(frozen=True)
class CancelOutcome:
    job: JobRecord
    outcome: str  # "withdrawn", "requested" or "final"


class SchedulerObserver:
    """What the scheduler reports as it works (rainbow.server.metrics turns it into Prometheus metrics); this base
    ignores everything, for a scheduler nobody watches."""

    def submit_result(self, result: str) -> None:
        """A submit ended: queued, bidding, satisfy_only, no_fit, not_selected, denied, invalid, unavailable or
        error."""

    def assigned(self, algorithm: str) -> None:
        """A job was queued for the cluster the named selection algorithm chose."""

    def bid_answer(self, result: str) -> None:
        """A cluster answered a bid request: recorded, answered (already), closed or unknown."""

    def bid_decided(self, outcome: str) -> None:
        """A bid window gave its job to a cluster: bid (the best usable bid), fallback (no usable bid), or
        reoffered (the winner did not accept in time)."""

    def match_duration(self, seconds: float) -> None: ...

    def selection_duration(self, seconds: float) -> None: ...


def _unplaced(message: str, result: str) -> FailedPrecondition:
    error = FailedPrecondition(message)
    error.result = result  # type: ignore[attr-defined]
    return error


def _submit_result(exc: BaseException) -> str:
    """The result label of a submit that raised `exc`."""
    given = getattr(exc, "result", None)
    if isinstance(given, str):
        return given
    if isinstance(exc, PermissionDenied):
        return "denied"
    if isinstance(exc, InvalidArgument):
        return "invalid"
    if isinstance(exc, StoreError):
        return "unavailable"
    return "error"


def assignment_reasons(algorithm: str, chosen: str, candidates: Sequence[str], matched: Sequence[str],
                       eligible: Sequence[str], reasons: Mapping[str, str], priority: int | None) -> Assignment:
    """Why `chosen` won, and for each other candidate why it did not fit or was not chosen. The matcher's and the
    selection's own words are kept where they exist (`reasons`: the matcher's for clusters that do not fit, a
    scored selection's line for each cluster that does); a short account fills in the rest.

    Jobs submitted one after another with the same candidates get the same account for each cluster chosen: it is
    written once (the arguments' hash costs a tenth of writing a hundred lines again)."""
    return _assignment_reasons(algorithm, chosen, tuple(candidates), tuple(matched), tuple(eligible),
                               tuple(reasons.items()), priority)


@functools.lru_cache(maxsize=256)
def _assignment_reasons(algorithm: str, chosen: str, candidates: tuple[str, ...], matched: tuple[str, ...],
                        eligible: tuple[str, ...], reason_items: tuple[tuple[str, str], ...],
                        priority: int | None) -> Assignment:
    reasons = dict(reason_items)
    fitting = len(matched)
    own = reasons.get(chosen)
    if own:
        reason = own
    elif priority is not None:
        reason = f"{algorithm}: priority {priority} ranked it first of {len(eligible)} eligible ({fitting} fit)"
    elif fitting == 1:
        reason = f"{algorithm}: the only cluster that fits"
    else:
        reason = f"{algorithm}: picked among {len(eligible)} eligible ({fitting} fit)"
    eligible_set, matched_set = set(eligible), set(matched)
    others: dict[str, str] = {}
    for name in candidates:
        if name == chosen:
            continue
        if name not in matched_set:
            others[name] = reasons.get(name) or "does not fit"
        elif reasons.get(name):
            others[name] = reasons[name]
        elif name not in eligible_set:
            others[name] = f"fits, but selection {algorithm} left it out"
        else:
            others[name] = f"fits; selection {algorithm} chose {chosen}"
    return Assignment(algorithm=algorithm, reason=reason, others=MappingProxyType(others))  # shared: read-only


@dataclass
class SelectionConfig:
    """The server's default selection; a SubmitJob naming its own algorithm or options overrides it."""

    name: str = "random"
    options: dict[str, str] = field(default_factory=dict)
    # scored presets the site defines (config `selection_presets`), beside the built-in ones
    presets: dict[str, Preset] = field(default_factory=dict)


class Scheduler:
    def __init__(self, store: Store, *, registration_secret: str, selection: SelectionConfig | None = None,
                 global_token: str | None = None, limits: Limits | None = None,
                 rng: random.Random | None = None, mappings: Mappings | None = None,
                 receive_lease_seconds: float = 0.0, bids: BidSettings | None = None,
                 observer: SchedulerObserver | None = None, viewer_token_hash: str | None = None) -> None:
        if not registration_secret and not store.get_setting(REGISTRATION_SECRET_HASH):
            raise ValueError("the scheduler needs a registration secret")
        self.store = store
        self.observer = observer or SchedulerObserver()
        # Who may read the operator views (status page, Status RPC) besides the registration secret's holder.
        self.viewer_token_hash = viewer_token_hash or None
        self.limits = limits or default_limits()
        self.selection = selection or SelectionConfig()
        # Site compatibility namespaces (compspec.compat.load_mappings) apply to parsing and matching alike.
        self.mappings = mappings
        self.matcher = Matcher(mappings)
        self._parse_cached = functools.lru_cache(maxsize=512)(lambda text: parse_jobspec(text, mappings))
        # The store's hash wins: the server's start-up has already reconciled it with --secret, and another server
        # may rotate it later (seen through the change counters).
        self._registration_hash = store.get_setting(REGISTRATION_SECRET_HASH) or hash_credential(registration_secret)
        self.receive_lease_seconds = receive_lease_seconds
        self._global_token = global_token or None
        self._rng = rng or random.Random()
        # Graph changes of one cluster (register, subsystems, delete) rebuild its index from what is stored;
        # they are rare, so one lock keeps the index and the store in step without slowing submits.
        self._graph_lock = threading.RLock()
        # Submit-path caches, kept in step by this process's register/update/delete: each cluster's token hash
        # (a miss falls back to the store) and its parsed state (selection reads it on every submit).
        self._token_hashes: dict[str, str] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._state_lock = threading.Lock()
        # Answers of repeated submissions (valid candidate sets, match results); any cluster change expires them.
        self._answers = GenerationCache(1024)
        # What of the store the caches reflect: the change counters last seen, and each indexed cluster's revision.
        self._seen = Changes(-1, -1)
        self._revisions: dict[str, int] = {}
        self.bidding = Bidding(self, bids)
        # User token hash -> (user, the clusters its grants reach, until when a token being rotated out works or 0);
        # emptied whenever the clusters change counter moves (every user, group and grant change moves it).
        self._users: dict[str, tuple[str, tuple[str, ...], float]] = {}

    # -- start ------------------------------------------------------------------------------------------------
    def rebuild(self) -> int:
        """Rebuild every cluster's match index from the store; returns how many clusters were loaded."""
        loaded = 0
        self._answers.bump()
        with self._graph_lock:
            seen = self.store.changes()  # read first: whatever is loaded below is at least this new
            revisions = self.store.cluster_revisions()
            names = sorted(revisions)
            self._token_hashes = {n: token for n, (_, token) in revisions.items()}
            self._states = {n: json.loads(text) for n, text in self.store.get_states(names).items()}
            self._revisions = {}
            for name in names:
                self._revisions[name] = revisions[name][0]
                try:
                    index = self._reindex(name)
                    if index is not None:
                        self.matcher.set(name, index)
                        loaded += 1
                except FormatError as exc:
                    log.error("cluster %s: stored graph no longer loads, not matchable: %s", name, exc)
            self._users = {}
            self._seen = seen
        return loaded

    # -- following other servers ------------------------------------------------------------------------------
    def sync(self) -> None:
        """Bring the caches up to what the store holds now (one counter read when nothing changed)."""
        now = self.store.changes()
        if now == self._seen:
            return
        with self._graph_lock:
            seen = self._seen
            if now.clusters != seen.clusters:
                self._refresh_clusters()
            if now.states != seen.states:
                for name, text in self.store.states_since(seen.states).items():
                    if name in self._token_hashes:
                        self._states[name] = json.loads(text)
                        self._recount_templates(name, self._states[name])
            self._seen = now

    def _refresh_clusters(self) -> None:
        revisions = self.store.cluster_revisions()
        stored_hash = self.store.get_setting(REGISTRATION_SECRET_HASH)
        if stored_hash:
            self._registration_hash = stored_hash
        for name in [n for n in self._revisions if n not in revisions]:
            self._revisions.pop(name, None)
            self.matcher.remove(name)
            self._states.pop(name, None)
        for name, (revision, _) in revisions.items():
            if self._revisions.get(name) == revision:
                continue
            self._revisions[name] = revision
            try:
                index = self._reindex(name)
            except FormatError as exc:
                log.error("cluster %s: stored graph no longer loads, not matchable: %s", name, exc)
                self.matcher.remove(name)
                continue
            if index is not None:
                self.matcher.set(name, index)
        self._token_hashes = {n: token for n, (_, token) in revisions.items()}
        self._users = {}
        self._answers.bump()

    def _reindex(self, name: str, extra: tuple[str, str] | None = None, without: str | None = None):
        """Build the index of `name` from its stored graphs (plus `extra` subsystem, minus `without`)."""
        graphs = self.store.get_graphs(name)
        if graphs is None:
            self.matcher.remove(name)
            return None
        graph = parse_graph(graphs.graph)
        texts = dict(graphs.subsystems)
        if extra is not None:
            texts[extra[0]] = extra[1]
        if without is not None:
            texts.pop(without, None)
        return cluster_index(graph, texts, self._states.get(name))

    def _recount_templates(self, name: str, state: Mapping[str, Any]) -> None:
        """A cluster with templates reports nodes in use through its state: re-count the nodes it may start."""
        index = self.matcher.get(name)
        if isinstance(index, ElasticIndex):
            self.matcher.set(name, elastic_index(index.base, index.tset, state))
            self._answers.bump()

    # -- credentials ------------------------------------------------------------------------------------------
    def _cluster_for_secret(self, name: str, secret: str, field_name: str = "cluster") -> ClusterRecord:
        """The cluster, once its secret is checked. An unknown name is answered as a wrong secret is (same code,
        same words, the same hash and comparison), so the answer does not tell which cluster names exist."""
        check_name(self.limits, field_name, name)
        record = self.store.get_cluster(name)
        stored = record.secret_hash if record is not None else _NO_CLUSTER_HASH
        if credential_matches(stored, secret) and record is not None:
            return record
        if record is not None and secret and any(credential_matches(old, secret)
                                                 for old in self.store.retiring_hashes(CLUSTER_SECRET, name)):
            return record  # rotated out, but its overlap still runs
        raise PermissionDenied(f"cluster {name}: secret is missing or not valid")

    # -- registration -----------------------------------------------------------------------------------------
    def register(self, name: str, secret: str, nodes: str) -> RegisterOutcome:
        self.sync()  # the registration secret may have been rotated through another server
        if not credential_matches(self._registration_hash, secret) and not (
                secret and any(credential_matches(old, secret)
                               for old in self.store.retiring_hashes(REGISTRATION_SECRET))):
            raise PermissionDenied("registration secret is missing or not valid")
        check_name(self.limits, "name", name)
        require("nodes", nodes)
        if self.store.get_cluster(name) is not None:
            return RegisterOutcome(EXISTS)
        with input_errors("nodes"):
            graph = parse_graph(nodes, "nodes")
            index = build_index(graph)
        token = self._global_token or new_credential()
        cluster_secret = new_credential()
        with self._graph_lock:
            revision = self.store.register_cluster(name, hash_credential(token), hash_credential(cluster_secret),
                                                   nodes)
            if not revision:
                return RegisterOutcome(EXISTS)
            self._revisions[name] = revision
            self.matcher.set(name, index)
            self._token_hashes[name] = hash_credential(token)
            self._answers.bump()
        log.info("registered cluster %s (%d nodes)", name, graph.node_count)
        return RegisterOutcome(SUCCESS, token=token, secret=cluster_secret)

    def register_subsystem(self, cluster: str, secret: str, subsystem: str, nodes: str) -> str:
        self._cluster_for_secret(cluster, secret, "name")
        check_name(self.limits, "subsystem", subsystem)
        require("nodes", nodes)
        with self._graph_lock:
            graphs = self.store.get_graphs(cluster)
            if graphs is None:
                raise NotFound(f"cluster {cluster} is not registered")
            if subsystem in graphs.subsystems:
                return EXISTS
            with input_errors("nodes"):
                index = self._reindex(cluster, extra=(subsystem, nodes))
            revision = self.store.add_subsystem(cluster, subsystem, nodes)
            if not revision:
                return EXISTS
            self._revisions[cluster] = revision
            self.matcher.set(cluster, index)
            self._answers.bump()
        log.info("cluster %s: registered subsystem %s", cluster, subsystem)
        return SUCCESS

    def delete(self, cluster: str, secret: str) -> str:
        # A cluster that does not exist is an error for the caller, answered as a wrong secret is.
        self._cluster_for_secret(cluster, secret, "name")
        with self._graph_lock:
            gone = self.store.delete_cluster(cluster)
            self._revisions.pop(cluster, None)
            self.matcher.remove(cluster)
            self._token_hashes.pop(cluster, None)
            self._states.pop(cluster, None)
            self._answers.bump()
        if gone:
            log.info("deleted cluster %s", cluster)
        return SUCCESS if gone else NO_EXISTS

    def delete_subsystem(self, cluster: str, secret: str, subsystem: str) -> str:
        self._cluster_for_secret(cluster, secret, "name")
        check_name(self.limits, "subsystem", subsystem)
        with self._graph_lock:
            graphs = self.store.get_graphs(cluster)
            if graphs is None or subsystem not in graphs.subsystems:
                return NO_EXISTS
            try:
                index = self._reindex(cluster, without=subsystem)
            except FormatError as exc:
                raise FailedPrecondition(f"cluster {cluster}: graph does not load without {subsystem}: {exc}") \
                    from None
            revision = self.store.delete_subsystem(cluster, subsystem)
            if not revision:
                return NO_EXISTS
            self._revisions[cluster] = revision
            self.matcher.set(cluster, index)
            self._answers.bump()
        log.info("cluster %s: deleted subsystem %s", cluster, subsystem)
        return SUCCESS

    def update_state(self, cluster: str, secret: str, payload: str) -> dict[str, Any]:
        self._cluster_for_secret(cluster, secret)
        state = parse_state(self.limits, payload)
        with self._state_lock:  # the store and the cache take concurrent updates in the same order
            if not self.store.set_state(cluster, json.dumps(state, sort_keys=True)):
                raise NotFound(f"cluster {cluster} is not registered")
            self._states[cluster] = state
        with self._graph_lock:
            self._recount_templates(cluster, self._states.get(cluster, state))
        log.info("cluster %s: state updated (%d keys)", cluster, len(state))
        return state

    # -- jobs -------------------------------------------------------------------------------------------------
    def _parse_jobspec(self, text: str, field_name: str = "jobspec"):
        check_size(field_name, require(field_name, text), self.limits.max_jobspec_bytes)
        check_nesting(field_name, text, self.limits.max_nesting_depth)
        with input_errors(field_name):
            if len(text) <= _CACHED_JOBSPEC_BYTES:
                return self._parse_cached(text)
            return parse_jobspec(text, self.mappings)

    def _check_tokens(self, clusters: Sequence[tuple[str, str]]) -> tuple[list[str], bool]:
        """The candidate names, once each, after checking every token (any bad one denies the whole request), and
        whether a token being rotated out was among them."""
        if not clusters:
            raise InvalidArgument("clusters: at least one cluster (name and token) is required")
        if len(clusters) > self.limits.max_submit_clusters:
            raise InvalidArgument(f"clusters: more than {self.limits.max_submit_clusters}")
        tokens: dict[str, str] = {}
        for i, (name, token) in enumerate(clusters):
            check_name(self.limits, f"clusters[{i}].name", name)
            if name in tokens and tokens[name] != token:
                raise InvalidArgument(f"clusters[{i}]: cluster {name} given twice with different tokens")
            tokens[name] = token
        known = self._token_hashes
        missing = [name for name in tokens if name not in known]
        if missing:  # registered by another server on the same store, or unknown
            known = {**known, **{n: r.token_hash for n, r in self.store.get_clusters(missing).items()}}
        retiring = False
        for name, token in tokens.items():
            if credential_matches(known.get(name), token):
                continue
            if name in known and any(credential_matches(old, token)
                                     for old in self.store.retiring_hashes(CLUSTER_TOKEN, name)):
                retiring = True
                continue
            raise PermissionDenied(f"cluster {name}: token is missing or not valid")
        return sorted(tokens), retiring

    def _states_of(self, names: Sequence[str], plans: Mapping[str, Plan] | None = None) -> dict[str, dict[str, Any]]:
        """The reported states selection reads; a cluster that would start template nodes for the job also shows
        their cost and start-up time (template_cost_per_hour, template_start_seconds...)."""
        states = self._states
        out = {name: states[name] for name in names if name in states}
        for name, plan in (plans or {}).items():
            if plan.total and name in names:
                out[name] = {**out.get(name, {}), **plan.state()}
        return out

    def submit(self, jobspec: str, clusters: Sequence[tuple[str, str]], *, name: str = "", algorithm: str = "",
               options: Mapping[str, str] | None = None, satisfy_only: bool = False) -> SubmitOutcome:
        return self._counted(satisfy_only, lambda: self._submit(jobspec, clusters, name=name, algorithm=algorithm,
                                                                 options=options, satisfy_only=satisfy_only))

    def _counted(self, satisfy_only: bool, call) -> SubmitOutcome:
        """Run one submit and tell the observer what it came to."""
        try:
            outcome = call()
        except BaseException as exc:
            self.observer.submit_result(_submit_result(exc))
            raise
        if satisfy_only:
            self.observer.submit_result("satisfy_only")
        else:
            self.observer.submit_result("queued" if outcome.cluster else "bidding")
        return outcome

    def _submit(self, jobspec: str, clusters: Sequence[tuple[str, str]], *, name: str, algorithm: str,
                options: Mapping[str, str] | None, satisfy_only: bool) -> SubmitOutcome:
        check_job_name(self.limits, name)
        request = self._parse_jobspec(jobspec)
        self.sync()
        generation = self._answers.generation
        tokens_key = digest(["tokens", *chain.from_iterable(clusters)])
        checked = self._answers.get(tokens_key, generation)
        if checked is None:
            names, retiring = self._check_tokens(clusters)
            # Whoever holds one of these tokens may see and cancel the job (the hashes, never the tokens, are kept).
            checked = (tuple(names), tuple(sorted({hash_credential(token) for _, token in clusters})))
            if not retiring:  # a token being rotated out is checked again each time: its overlap ends
                self._answers.put(tokens_key, generation, checked)
        candidates, owners = checked
        return self._submit_to(request, jobspec, candidates, generation, name=name, algorithm=algorithm,
                               options=options, satisfy_only=satisfy_only, owners=owners)

    def submit_as_user(self, jobspec: str, token: str, picks: Sequence[str] = (), *, name: str = "",
                       algorithm: str = "", options: Mapping[str, str] | None = None,
                       satisfy_only: bool = False) -> SubmitOutcome:
        """Submit with a user token: the candidates are the registered clusters the user's grants reach (`picks`
        narrows them). A job never goes outside the grant; when only clusters outside it fit, the refusal says so."""
        return self._counted(satisfy_only, lambda: self._submit_as_user(
            jobspec, token, picks, name=name, algorithm=algorithm, options=options, satisfy_only=satisfy_only))

    def _submit_as_user(self, jobspec: str, token: str, picks: Sequence[str], *, name: str, algorithm: str,
                        options: Mapping[str, str] | None, satisfy_only: bool) -> SubmitOutcome:
        check_job_name(self.limits, name)
        request = self._parse_jobspec(jobspec)
        self.sync()
        generation = self._answers.generation
        user, granted = self.user_for_token(token)
        registered = self._token_hashes
        if picks:
            for i, pick in enumerate(picks):
                check_name(self.limits, f"clusters[{i}]", pick)
                if pick not in granted:
                    raise PermissionDenied(f"cluster {pick}: not in the grants of user {user}")
            candidates = tuple(sorted(set(picks)))
        else:
            candidates = tuple(c for c in granted if c in registered)
            if not candidates:
                raise FailedPrecondition(f"user {user}: no registered cluster in the user's grants")
        try:
            outcome = self._submit_to(request, jobspec, candidates, generation, name=name, algorithm=algorithm,
                                      options=options, satisfy_only=satisfy_only, user=user)
        except FailedPrecondition as exc:
            outside = [c for c in self.matcher.names() if c not in set(granted)]
            with input_errors("jobspec"):
                fits, _ = self.matcher.match(request, outside) if outside else ([], {})
            if not fits:
                raise
            raise _unplaced(f"{exc}; outside the grants of user {user}, {', '.join(sorted(fits))} would fit, but a "
                            f"user's job goes only to granted clusters", getattr(exc, "result", "no_fit")) from None
        return SubmitOutcome(outcome.jobid, outcome.cluster, outcome.clusters, outcome.reasons, user)

    def user_for_token(self, token: str) -> tuple[str, tuple[str, ...]]:
        """The user a token belongs to and the clusters its grants reach; PermissionDenied for any other token."""
        if not token:
            raise PermissionDenied("user token is missing")
        key = hash_credential(token)
        cached = self._users.get(key)
        if cached is not None and (not cached[2] or cached[2] > time.time()):
            return cached[0], cached[1]
        found = self.store.user_for_token(key)
        if found is None:
            raise PermissionDenied("user token is not valid")
        user, until = found
        clusters = tuple(self.store.user_clusters(user))
        if len(self._users) >= _MAX_CACHED_USERS:
            self._users.clear()
        self._users[key] = (user, clusters, until)
        return user, clusters

    def _submit_to(self, request, jobspec: str, candidates: Sequence[str], generation: int, *, name: str,
                   algorithm: str, options: Mapping[str, str] | None, satisfy_only: bool,
                   user: str = "", owners: Sequence[str] = ()) -> SubmitOutcome:
        """Match, select and queue among `candidates`, whose credentials are checked."""
        options = dict(options or {})
        if len(options) > self.limits.max_select_options:
            raise InvalidArgument(f"select_options: more than {self.limits.max_select_options} entries")
        for key, value in options.items():
            check_size(f"select_options[{key[:40]}]", value, self.limits.max_select_option_bytes)
        requested = algorithm
        if not algorithm or algorithm == self.selection.name:
            # The server's configured options (constraint priorities) hold unless the request gives its own.
            algorithm = self.selection.name
            options = {**self.selection.options, **options}
        if algorithm == BID and not requested:
            # Upstream clients name no algorithm and expect a cluster in the answer: they keep the level-1 fallback.
            algorithm, options = self.bidding.settings.fallback, {}
        shape = request.match_key()
        match_key = (shape, tuple(candidates)) if shape is not None else digest(["match", jobspec, *candidates])
        answer = self._answers.get(match_key, generation)
        if answer is None:
            plans: dict[str, Plan] = {}
            started = time.perf_counter()
            with input_errors("jobspec"):
                fits, why = self.matcher.match(request, candidates, plans)
            self.observer.match_duration(time.perf_counter() - started)
            answer = (tuple(fits), dict(why), plans)
            self._answers.put(match_key, generation, answer)
        matched, reasons, plans = list(answer[0]), dict(answer[1]), answer[2]
        if algorithm == BID:
            return self._submit_for_bids(request, jobspec, name, matched, reasons, candidates, options,
                                         satisfy_only, user, owners)
        started = time.perf_counter()
        with input_errors("select_algorithm"):
            choice = select(algorithm, matched, options=options, states=self._states_of(matched, plans),
                            parameters=request.parameters, rng=self._rng, context=self._selection_context(request),
                            presets=self.selection.presets)
        self.observer.selection_duration(time.perf_counter() - started)
        if satisfy_only:
            eligible = set(choice.eligible)
            for cluster in matched:  # fits, yet the selection's filters left it out: say so, not "does not fit"
                if cluster not in eligible:
                    reasons[cluster] = f"fits, but selection {algorithm or 'random'} left it out"
            reasons.update(choice.reasons)
            return SubmitOutcome(0, "", list(choice.eligible), reasons)
        reasons.update(choice.reasons)
        if choice.chosen is None:
            if matched:
                raise _unplaced(f"selection {algorithm} left no cluster among {', '.join(matched)}", "not_selected")
            details = "; ".join(f"{c}: {reasons.get(c, 'does not fit')}" for c in candidates)
            raise _unplaced(f"no cluster can run the job: {details}", "no_fit")
        job_name = self._job_name(request, name)
        why = assignment_reasons(algorithm or "random", choice.chosen, candidates, matched, choice.eligible, reasons,
                                 choice.priority)
        try:
            jobid = self.store.add_job(choice.chosen, job_name, jobspec, user=user, owners=owners,
                                       candidates=list(matched), assignment=why)
        except JobIdsExhausted as exc:
            raise FailedPrecondition(str(exc)) from None
        if jobid is None:
            raise FailedPrecondition(f"cluster {choice.chosen} was deleted while the job was being submitted")
        self.observer.assigned(algorithm or "random")
        if user:
            log.info("job %d queued for cluster %s by user %s", jobid, choice.chosen, user)
        else:
            log.info("job %d queued for cluster %s", jobid, choice.chosen)
        return SubmitOutcome(jobid, choice.chosen, list(matched), dict(reasons))

    def _job_name(self, request, name: str) -> str:
        # A job without a name (upstream jobspecs have none) is named after its command, as Flux does.
        default_name = request.command[0].rsplit("/", 1)[-1] if request.command else ""
        return check_job_name(self.limits, name or request.name or default_name)

    def _submit_for_bids(self, request, jobspec: str, name: str, matched: list[str], reasons: dict[str, str],
                         candidates: Sequence[str], options: Mapping[str, str], satisfy_only: bool,
                         user: str = "", owners: Sequence[str] = ()) -> SubmitOutcome:
        """Level 2: queue the job with no cluster and ask the clusters that fit to bid; the answer carries the job
        id and an empty cluster (`JobBids` tells the winner once decided)."""
        if not matched:
            details = "; ".join(f"{c}: {reasons.get(c, 'does not fit')}" for c in candidates)
            raise FailedPrecondition(f"no cluster can run the job: {details}")
        settings = bid_options(self.bidding.settings, options, self.selection.presets)
        for cluster in matched:
            reasons[cluster] = f"fits; asked to bid, window {settings['window']:g} s"
        if satisfy_only:
            return SubmitOutcome(0, "", list(matched), reasons)
        try:
            jobid = self.bidding.open(self._job_name(request, name), jobspec, matched, options, user, owners)
        except JobIdsExhausted as exc:
            raise FailedPrecondition(str(exc)) from None
        return SubmitOutcome(jobid, "", list(matched), reasons)

    def live_clusters(self, names: Sequence[str]) -> list[str]:
        """Those of `names` still registered (as of the last sync)."""
        self.sync()
        known = self._token_hashes
        return [name for name in names if name in known]

    def _selection_context(self, request) -> Context:
        """What scored presets weigh besides state: the job's size, each graph's totals, registration order and
        the jobs each cluster has in hand (the last two are store reads, made only when a scorer asks)."""
        def capacity(name: str) -> dict[str, int]:
            index = self.matcher.get(name)
            return index.totals if index is not None else {}

        def created(names):
            return {name: record.created for name, record in self.store.get_clusters(names).items()}

        return Context(demand=request.totals(), duration=request.duration, capacity=capacity, created=created,
                       active=self.store.active_jobs)

    # -- operator views ---------------------------------------------------------------------------------------
    def may_view(self, credential: str) -> bool:
        """True for the viewer token (when one is set), the registration secret or the admin token: who may read the operator
        views, which show cluster names, jobs and where they went, never a credential."""
        if self.viewer_token_hash and credential_matches(self.viewer_token_hash, credential):
            return True
        self.sync()  # the registration secret may have been rotated through another server
        if credential_matches(self._registration_hash, credential):
            return True
        from rainbow.server.access import Access

        return Access(self).is_admin(credential)

    def satisfy(self, payload: str) -> SatisfyOutcome:
        request = self._parse_jobspec(payload, "payload")
        self.sync()
        names = self.matcher.names()
        with input_errors("payload"):
            matched, reasons = self.matcher.match(request, names)
        return SatisfyOutcome(list(matched), dict(reasons), len(names))

    def receive(self, cluster: str, secret: str, max_jobs: int = 0) -> list[JobRecord]:
        self._cluster_for_secret(cluster, secret)
        return self.store.pending_jobs(cluster, max_jobs, self.receive_lease_seconds)

    def receive_texts(self, cluster: str, secret: str, max_jobs: int = 0) -> list[tuple[int, str]]:
        """As receive, each job as (id, the JSON text ReceiveJobs carries)."""
        self._cluster_for_secret(cluster, secret)
        return self.store.pending_job_texts(cluster, max_jobs, self.receive_lease_seconds)

    def accept(self, cluster: str, secret: str, ids: Sequence[int]) -> AcceptOutcome:
        self._cluster_for_secret(cluster, secret)
        if not ids:
            raise InvalidArgument("jobids: at least one job id is required")
        if len(ids) > self.limits.max_accept_ids:
            raise InvalidArgument(f"jobids: more than {self.limits.max_accept_ids}")
        wanted = set(ids)
        accepted = self.store.accept_jobs(cluster, sorted(wanted))
        if accepted:
            log.info("cluster %s accepted %d jobs", cluster, len(accepted))
        return AcceptOutcome(accepted, len(wanted))

    def list_jobs(self, cluster: str, secret: str, state: str = "", after_id: int = 0,
                  limit: int = 0, tokens: Sequence[str] = (), job_id: int = 0) -> tuple[list[JobRecord], int]:
        """A page of the cluster's jobs (cluster and secret), or of the jobs submitted with any of `tokens`."""
        owners = self._token_owners(tokens) if tokens and not cluster else None
        if owners is None:
            self._cluster_for_secret(cluster, secret)
        state = "" if state in ("", "all") else state
        if state and state not in JOB_STATES:
            raise InvalidArgument(f"state: {state[:40]!r} is not one of all, {', '.join(JOB_STATES)}")
        if after_id < 0 or job_id < 0:
            raise InvalidArgument("after_id: must not be negative" if after_id < 0 else "id: must not be negative")
        if job_id:
            job = self.store.get_job(job_id)
            visible = job is not None and (set(job.owners) & set(owners) if owners is not None
                                           else job.cluster == cluster)
            if not visible or (state and job.state != state):
                raise NotFound(f"job {job_id}: no such job among yours")
            return [job], 0
        page = self.limits.default_page_size if limit <= 0 else min(limit, self.limits.max_page_size)
        if owners is not None:
            # A user's jobs are few; the state filter is applied to each page as it is read.
            jobs = [j for j in self.store.owned_jobs(owners, after_id, page + 1) if not state or j.state == state]
        else:
            jobs = self.store.list_jobs(cluster, state, after_id, page + 1)
        more = len(jobs) > page
        jobs = jobs[:page]
        return jobs, (jobs[-1].id if more else 0)

    def _token_owners(self, tokens: Sequence[str]) -> list[str]:
        """The hashes a user's tokens give, once each checked against a cluster they belong to (or the global
        token): a token that opens no cluster is refused, so guessing owners is no shortcut."""
        if len(tokens) > self.limits.max_submit_clusters:
            raise InvalidArgument(f"tokens: more than {self.limits.max_submit_clusters}")
        self.sync()
        known = set(self._token_hashes.values())
        owners = []
        for i, token in enumerate(tokens):
            hashed = hash_credential(token) if token else ""
            if hashed not in known:
                raise PermissionDenied(f"tokens[{i}]: token is missing or not valid")
            owners.append(hashed)
        return owners

    # -- what agents report, cancelling -------------------------------------------------------------------------
    def report_job(self, cluster: str, secret: str, job_id: int, status: str, *, local_id: str = "",
                   exit_code: int | None = None, reason: str = "", requeue: bool = False) -> ReportOutcome:
        self._cluster_for_secret(cluster, secret)
        if status not in JOB_STATUSES:
            raise InvalidArgument(f"status: {status[:40]!r} is not one of {', '.join(JOB_STATUSES)}")
        if job_id <= 0:
            raise InvalidArgument("id: a job id is required")
        check_size("local_id", local_id, self.limits.max_report_bytes)
        reason = " ".join(reason.split())[: self.limits.max_report_bytes]
        if requeue and status == FAILED:
            moved = self._requeue(cluster, job_id, reason)
            if moved is not None:
                return moved
        job = self.store.report_job(cluster, job_id, JobReport(status, local_id=local_id, exit_code=exit_code,
                                                               reason=reason))
        if job is None:
            raise NotFound(f"job {job_id}: not a job of cluster {cluster}")
        log.info("job %d on cluster %s: %s%s", job_id, cluster, job.status,
                 f" ({job.reason})" if job.status == FAILED and job.reason else "")
        return ReportOutcome(job)

    def _requeue(self, cluster: str, job_id: int, reason: str) -> ReportOutcome | None:
        """Offer a job `cluster` refused to another cluster that fits it; None when there is none (or it was refused
        too often, or is not a pending job of `cluster`)."""
        job = self.store.get_job(job_id)
        if job is None or job.cluster != cluster or job.state != PENDING:
            return None
        tried = [*job.tried, cluster]
        if len(tried) > self.limits.max_requeues:
            return None
        self.sync()
        remaining = [c for c in job.candidates if c not in tried and c in self._token_hashes]
        if not remaining:
            return None
        try:
            request = self._parse_jobspec(job.jobspec)
            fits, _ = self.matcher.match(request, remaining)
            choice = select(self.selection.name, list(fits), options=dict(self.selection.options),
                            states=self._states_of(list(fits)), parameters=request.parameters, rng=self._rng,
                            context=self._selection_context(request), presets=self.selection.presets)
        except Exception as exc:  # noqa: BLE001  (a job that no longer matches is failed, not requeued)
            log.info("job %d: not requeued: %s", job_id, " ".join(str(exc).split())[:200])
            return None
        if choice.chosen is None:
            return None
        note = f"refused by {cluster}: {reason}" if reason else f"refused by {cluster}"
        if not self.store.requeue_job(job_id, cluster, choice.chosen, note[: self.limits.max_report_bytes]):
            return None
        log.info("job %d refused by cluster %s, requeued for cluster %s", job_id, cluster, choice.chosen)
        return ReportOutcome(self.store.get_job(job_id) or job, requeued_to=choice.chosen)

    def cancel_job(self, job_id: int, *, tokens: Sequence[str] = (), cluster: str = "",
                   secret: str = "") -> CancelOutcome:
        if job_id <= 0:
            raise InvalidArgument("id: a job id is required")
        job = self.store.get_job(job_id)
        if cluster:
            self._cluster_for_secret(cluster, secret)
            allowed = job is not None and job.cluster == cluster
        else:
            if not tokens:
                raise PermissionDenied("a token the job was submitted with, or its cluster's secret, is required")
            owners = self._token_owners(tokens)
            allowed = job is not None and bool(set(job.owners) & set(owners))
        if not allowed:
            raise NotFound(f"job {job_id}: no such job among yours")
        if job.final:
            return CancelOutcome(job, "final")
        updated = self.store.cancel_job(job_id)
        if updated is None:
            raise NotFound(f"job {job_id}: no such job among yours")
        if updated.state != ACCEPTED:
            log.info("job %d withdrawn before its cluster %s accepted it", job_id, updated.cluster)
            return CancelOutcome(updated, "withdrawn" if updated.status == "cancelled" else "final")
        log.info("job %d: cancel requested of cluster %s", job_id, updated.cluster)
        return CancelOutcome(updated, "final" if updated.final else "requested")

    def cancel_requests(self, cluster: str, secret: str) -> list[JobRecord]:
        self._cluster_for_secret(cluster, secret)
        return self.store.cancel_requests(cluster)
