"""Match one request against registered clusters: which fit, and a reason for each that does not."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterable

from compspec.compat import Mappings
from rainbow.graph.index import ClusterIndex
from rainbow.graph.templates import ElasticIndex
from rainbow.jobspec.model import Request

from .elastic import Plan, over_limits, plan, shortfall, templates_note
from .engine import Evaluation
from .explain import explain


@dataclass(frozen=True)
class MatchResult:
    ok: bool
    reason: str = ""


def match(request: Request, index: ClusterIndex, mappings: Mappings | None = None) -> MatchResult:
    """Does one cluster fit the request? When not, `reason` says why in one line."""
    ev = Evaluation(request, mappings)
    (failed,) = ev.fits_many([index])
    if isinstance(index, ElasticIndex):
        verdict = judge_elastic(ev, index, failed)
        return MatchResult(True) if isinstance(verdict, Plan) else MatchResult(False, verdict)
    return MatchResult(True) if failed is None else MatchResult(False, explain(ev, index, failed))


def judge_elastic(ev: Evaluation, index: ElasticIndex, failed: int | None) -> Plan | str:
    """The plan of template nodes for a cluster with templates that fits, else the one-line reason it does not."""
    if failed is None:
        chosen = plan(ev, index)
        if chosen is not None:
            limited = over_limits(index, chosen)
            if not limited:
                return chosen
            return limited
    short = shortfall(ev, index)
    if short:
        return short
    return f"{explain(ev, index, failed if failed is not None else -1)} ({templates_note(index)})"


class Matcher:
    """Cluster indexes by name. Readers take a snapshot of the table; writers swap in a new one."""

    def __init__(self, mappings: Mappings | None = None) -> None:
        # (indexes by name, the names of those with templates, which are judged apart): swapped as one
        self._snapshot: tuple[dict[str, ClusterIndex], frozenset[str]] = ({}, frozenset())
        self._lock = threading.Lock()
        self.mappings = mappings

    @property
    def _indexes(self) -> dict[str, ClusterIndex]:
        return self._snapshot[0]

    def set(self, name: str, index: ClusterIndex) -> None:
        with self._lock:
            table, elastic = self._snapshot
            table = dict(table)
            table[name] = index
            elastic = elastic | {name} if isinstance(index, ElasticIndex) else elastic - {name}
            self._snapshot = (table, elastic)

    def remove(self, name: str) -> None:
        with self._lock:
            table, elastic = self._snapshot
            if name in table:
                table = dict(table)
                del table[name]
                self._snapshot = (table, elastic - {name})

    def get(self, name: str) -> ClusterIndex | None:
        return self._indexes.get(name)

    def names(self) -> list[str]:
        return sorted(self._indexes)

    def __len__(self) -> int:
        return len(self._indexes)

    def match(self, request: Request, names: Iterable[str] | None = None,
              plans: dict[str, Plan] | None = None) -> tuple[list[str], dict[str, str]]:
        """Clusters that fit (sorted) and a one-line reason for every other one asked about; `plans`, when given,
        gets the template nodes each matched cluster with templates would use."""
        table, elastic = self._snapshot
        wanted = sorted(table) if names is None else sorted(set(names))
        ev = Evaluation(request, self.mappings)
        present: list[tuple[str, ClusterIndex]] = []
        reasons: dict[str, str] = {}
        for name in wanted:
            index = table.get(name)
            if index is None:
                reasons[name] = "not registered"
            else:
                present.append((name, index))
        verdicts = ev.fits_many([index for _, index in present])
        matched: list[str] = []
        said: dict[tuple, str] = {}
        judged: dict[tuple, Plan | str] = {}
        for (name, index), failed in zip(present, verdicts):
            if elastic and name in elastic:
                # clusters with the same shapes, templates and nodes in use get the same verdict
                known = (index.key, index.tset, index.pools)
                verdict = judged.get(known)
                if verdict is None:
                    verdict = judged[known] = judge_elastic(ev, index, failed)
                if isinstance(verdict, Plan):
                    matched.append(name)
                    if plans is not None:
                        plans[name] = verdict
                else:
                    reasons[name] = verdict
                continue
            if failed is None:
                matched.append(name)
                continue
            reason = said.get(index.key)
            if reason is None:
                reason = said[index.key] = explain(ev, index, failed)
            reasons[name] = reason
        return matched, dict(sorted(reasons.items()))
