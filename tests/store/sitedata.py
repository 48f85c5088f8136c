"""A small site built through a real server, and every answer about it that a move must keep the same."""
from __future__ import annotations

from typing import Any

from rainbow.client import RainbowClient

from reliability.rel_graphs import cluster_graph, io_subsystem, nextgen_jobspec


def build_site(address: str, registration_secret: str) -> dict[str, tuple[str, str]]:
    """Three clusters (one with a subsystem, two with state), queued and accepted jobs, and one cluster deleted
    after it accepted jobs; returns the live clusters' (token, secret)."""
    creds: dict[str, tuple[str, str]] = {}
    with RainbowClient(address) as client:
        for name, nodes in (("red", 2), ("blue", 3), ("gone", 1)):
            graph = cluster_graph(name, nodes=nodes, cores=4)
            result = client.register(name, registration_secret, graph)
            assert result.status == "REGISTER_SUCCESS"
            creds[name] = (result.token, result.secret)
            if name == "blue":
                assert client.register_subsystem(name, result.secret, "io", io_subsystem(graph)) == \
                    "REGISTER_SUCCESS"
            if name != "red":
                client.update_state(name, result.secret, {"nodes_free": nodes, "queue": name})
        for i in range(12):
            name = ("red", "blue", "gone")[i % 3]
            job = client.submit(nextgen_jobspec(nodes=1, cores=2, name=f"job{i}"), [(name, creds[name][0])])
            assert job.status == "SUBMIT_SUCCESS"
        for name in ("red", "gone"):
            pending = client.receive(name, creds[name][1])
            assert client.accept(name, creds[name][1], [job.id for job in pending[:2]]) == "RESULT_TYPE_SUCCESS"
        assert client.delete("gone", creds["gone"][1]) == "DELETE_SUCCESS"
    del creds["gone"]
    return creds


def answers(address: str, creds: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """What the server says about the site: jobs by state, fits, state-driven selection, deletion."""
    out: dict[str, Any] = {}
    with RainbowClient(address) as client:
        for name, (token, secret) in sorted(creds.items()):
            out[f"{name}.jobs"] = [(j.id, j.name, j.state, j.jobspec, str(j.submitted), str(j.accepted))
                                   for j in client.iter_jobs(name, secret, limit=100)]
            out[f"{name}.receive"] = [(j.id, j.name) for j in client.receive(name, secret)]
            fit = client.submit(nextgen_jobspec(nodes=3, cores=2), [(name, token)], satisfy_only=True)
            out[f"{name}.fits3"] = (fit.clusters, sorted(fit.reasons.items()))
        everyone = [(name, token) for name, (token, _) in sorted(creds.items())]
        fit = client.submit(nextgen_jobspec(nodes=1, cores=1), everyone, satisfy_only=True)
        out["all.fits1"] = sorted(fit.clusters)
        out["satisfy.total"] = client.satisfy(nextgen_jobspec(nodes=1, cores=1)).total_clusters
        out["gone.receive"] = _code(lambda: client.receive("gone", "whatever"))
    return out


def _code(call) -> str:
    try:
        call()
    except Exception as exc:  # RainbowError carries the gRPC code
        return getattr(exc, "code", type(exc).__name__)
    return "answered"
