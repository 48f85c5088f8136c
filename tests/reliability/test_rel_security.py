"""Credentials: never in the logs or the database file in clear text; wrong, empty, swapped and other clusters'
credentials refused by every RPC that takes one, with nothing changed; mutual TLS refuses clients without a
certificate from the configured CA.
"""
from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Callable

import pytest

from rainbow.client import RainbowClient, RainbowError
from rainbow.protos import memory_pb2, memory_pb2_grpc

from .rel_graphs import cluster_graph, io_subsystem, nextgen_jobspec
from .rel_load import register
from .rel_store import dump_diff, store_dump

from certs import TestCA  # noqa: E402  (tests/ is on sys.path, see rel_env)
from serverutil import start_server  # noqa: E402

REGISTRATION_SECRET = "reg-" + secrets.token_urlsafe(24)


class Cluster:
    def __init__(self, name: str, token: str, secret: str, graph: dict) -> None:
        self.name, self.token, self.secret, self.graph = name, token, secret, graph


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """A server with clusters `alpha` and `beta`, each with an io subsystem, some state and one pending job."""
    server = start_server(tmp_path_factory.mktemp("secure"), secret=REGISTRATION_SECRET)
    clusters: dict[str, Cluster] = {}
    jobs: dict[str, int] = {}
    try:
        with RainbowClient(server.address) as client:
            for name in ("alpha", "beta"):
                graph = cluster_graph(name, nodes=2, cores=4)
                token, secret = register(client, name, server.secret, graph)
                clusters[name] = Cluster(name, token, secret, graph)
                assert client.register_subsystem(name, secret, "io", io_subsystem(graph)) == "REGISTER_SUCCESS"
                assert client.update_state(name, secret, {"nodes_free": 2}) == "UPDATE_STATE_SUCCESS"
                jobs[name] = client.submit(nextgen_jobspec(), [(name, token)], name=f"job-{name}").jobid
        yield server, clusters, jobs
    finally:
        if server.running:
            server.stop()


# -- every credential-bearing RPC, called against alpha with a credential of our choosing ------------------------
def _calls(alpha: Cluster, jobid: int) -> dict[str, Callable[[RainbowClient, str], object]]:
    return {
        "Register": lambda c, cred: c.register("newcomer", cred, cluster_graph("newcomer")),
        "RegisterSubsystem": lambda c, cred: c.register_subsystem("alpha", cred, "io2", io_subsystem(alpha.graph)),
        "Delete": lambda c, cred: c.delete("alpha", cred),
        "DeleteSubsystem": lambda c, cred: c.delete_subsystem("alpha", cred, "io"),
        "UpdateState": lambda c, cred: c.update_state("alpha", cred, {"nodes_free": 0}),
        "ReceiveJobs": lambda c, cred: c.receive("alpha", cred),
        "AcceptJobs": lambda c, cred: c.accept("alpha", cred, [jobid]),
        "ListJobs": lambda c, cred: c.list_jobs("alpha", cred),
        "SubmitJob": lambda c, cred: c.submit(nextgen_jobspec(), [("alpha", cred)], name="intruder"),
    }


RPCS = ["Register", "RegisterSubsystem", "Delete", "DeleteSubsystem", "UpdateState", "ReceiveJobs", "AcceptJobs",
        "ListJobs", "SubmitJob"]
KINDS = ["wrong", "empty", "other-cluster", "own-other-kind", "stored-hash", "registration-secret", "padded"]


def _credential(kind: str, rpc: str, server, alpha: Cluster, beta: Cluster) -> str:
    """The credential of `kind` for `rpc` (each a wrong one)."""
    wants_token = rpc == "SubmitJob"
    right = server.secret if rpc == "Register" else (alpha.token if wants_token else alpha.secret)
    if kind == "wrong":
        return secrets.token_urlsafe(32)
    if kind == "empty":
        return ""
    if kind == "other-cluster":
        return beta.secret if rpc == "Register" else (beta.token if wants_token else beta.secret)
    if kind == "own-other-kind":
        return alpha.secret if wants_token or rpc == "Register" else alpha.token
    if kind == "stored-hash":
        return hashlib.sha256(right.encode()).hexdigest()
    if kind == "registration-secret":
        return server.secret
    if kind == "padded":
        return right + " "
    raise AssertionError(kind)


CASES = [(rpc, kind) for rpc in RPCS for kind in KINDS if (rpc, kind) != ("Register", "registration-secret")]


@pytest.mark.parametrize("rpc,kind", CASES)
def test_bad_credentials_refused_and_change_nothing(secured, figures, rpc, kind):
    server, clusters, jobs = secured
    alpha, beta = clusters["alpha"], clusters["beta"]
    cred = _credential(kind, rpc, server, alpha, beta)
    before = store_dump(server.db_path)
    with RainbowClient(server.address, timeout=10) as client:
        with pytest.raises(RainbowError) as info:
            _calls(alpha, jobs["alpha"])[rpc](client, cred)
    allowed = {"PERMISSION_DENIED", "INVALID_ARGUMENT"} if kind == "empty" else {"PERMISSION_DENIED"}
    assert info.value.code in allowed, f"{rpc} with {kind} credential: {info.value}"
    assert info.value.details.strip(), "a refusal must say why"
    after = store_dump(server.db_path)
    assert after == before, f"{rpc} refused but the store changed:\n{dump_diff(before, after)}"
    assert server.running
    figures.add(answer=info.value.code)


def test_right_credentials_still_work(secured, figures):
    """The control for the refusals above: the same calls with the right credential succeed."""
    server, clusters, jobs = secured
    alpha = clusters["alpha"]
    with RainbowClient(server.address) as client:
        assert [job.id for job in client.receive("alpha", alpha.secret)] == [jobs["alpha"]]
        assert [job.id for job in client.list_jobs("alpha", alpha.secret).jobs] == [jobs["alpha"]]
        assert client.update_state("alpha", alpha.secret, {"nodes_free": 2}) == "UPDATE_STATE_SUCCESS"
        assert client.submit(nextgen_jobspec(), [("alpha", alpha.token)], satisfy_only=True).clusters == ["alpha"]
    figures.add(calls=4)


def test_memory_graph_register_always_refused(secured, figures):
    server, clusters, _ = secured
    import grpc

    before = store_dump(server.db_path)
    with grpc.insecure_channel(server.address) as channel:
        stub = memory_pb2_grpc.MemoryGraphStub(channel)
        for cred_like in ("", server.secret, clusters["alpha"].secret):
            with pytest.raises(grpc.RpcError) as info:
                stub.Register(memory_pb2.RegisterRequest(name="injected", payload=cred_like or "{}",
                                                         subsystem=""), timeout=10)
            assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert store_dump(server.db_path) == before
    figures.add(refused=3)


def test_another_clusters_jobs_are_out_of_reach(secured, figures):
    """beta's secret sees and takes none of alpha's jobs, even by id."""
    server, clusters, jobs = secured
    beta = clusters["beta"]
    with RainbowClient(server.address) as client:
        assert all(job.cluster == "beta" for job in client.receive("beta", beta.secret))
        before = store_dump(server.db_path)
        assert client.accept("beta", beta.secret, [jobs["alpha"]]) == "RESULT_TYPE_PARTIAL"
        assert store_dump(server.db_path) == before
        assert jobs["alpha"] not in {job.id for job in client.iter_jobs("beta", beta.secret)}
    figures.add(checks=3)


def _everything_secret(server, clusters: dict[str, Cluster]) -> dict[str, str]:
    found = {"registration secret": server.secret, "global token": GLOBAL_TOKEN}
    for c in clusters.values():
        found[f"{c.name} token"] = c.token
        found[f"{c.name} secret"] = c.secret
    return found


def _files(server) -> list[Path]:
    db = Path(server.db_path)
    logs = sorted(Path(server.workdir).glob("rainbow-serve-*"))
    return [p for p in [db, Path(f"{db}-wal"), Path(f"{db}-shm"), *logs] if p.exists()]


GLOBAL_TOKEN = "global-" + secrets.token_urlsafe(24)


@pytest.mark.parametrize("mode", ["per-cluster tokens", "global token"])
def test_no_credential_in_clear_in_logs_or_database(tmp_path, figures, mode):
    extra = ["--global-token", GLOBAL_TOKEN] if mode == "global token" else []
    server = start_server(tmp_path / "server", secret=REGISTRATION_SECRET, extra_args=extra)
    clusters: dict[str, Cluster] = {}
    attempted: list[str] = []
    try:
        with RainbowClient(server.address) as client:
            for name in ("red", "green", "blue"):
                graph = cluster_graph(name, nodes=2, cores=2)
                token, secret = register(client, name, server.secret, graph)
                clusters[name] = Cluster(name, token, secret, graph)
                client.register_subsystem(name, secret, "io", io_subsystem(graph))
                client.update_state(name, secret, {"nodes_free": 3})
                for i in range(5):
                    client.submit(nextgen_jobspec(), [(name, token)], name=f"{name}-{i}")
                ids = [job.id for job in client.receive(name, secret)]
                client.accept(name, secret, ids[:2])
                list(client.iter_jobs(name, secret))
            # Failed attempts with near-miss credentials must not be written down either.
            for name, c in clusters.items():
                for wrong in (c.secret[:-1] + "x", c.token[::-1]):
                    attempted.append(wrong)
                    with pytest.raises(RainbowError):
                        client.receive(name, wrong)
                    with pytest.raises(RainbowError):
                        client.submit(nextgen_jobspec(), [(name, wrong)])
            with pytest.raises(RainbowError):
                client.register("late", REGISTRATION_SECRET[:-1] + "#", cluster_graph("late"))
            attempted.append(REGISTRATION_SECRET[:-1] + "#")
            client.delete("blue", clusters["blue"].secret)
        live = _scan(server, clusters, attempted)
        server.stop()
        stopped = _scan(server, clusters, attempted)
        server.kill()
        figures.add(files=len(_files(server)), credentials=len(_everything_secret(server, clusters)) + len(attempted),
                    bytes_scanned=sum(p.stat().st_size for p in _files(server)))
        assert not live, f"credentials in clear while serving: {live}"
        assert not stopped, f"credentials in clear after stopping: {stopped}"
    finally:
        if server.running:
            server.stop()


def _scan(server, clusters, attempted) -> list[str]:
    hits = []
    needles = _everything_secret(server, clusters)
    needles.update({f"attempt {i}": value for i, value in enumerate(attempted)})
    for path in _files(server):
        data = path.read_bytes()
        for what, value in needles.items():
            if value.encode() in data:
                hits.append(f"{what} in {path.name}")
    return hits


def test_mutual_tls_refuses_clients_without_a_trusted_certificate(tmp_path, figures):
    ca = TestCA(tmp_path / "ca")
    server_cert = ca.issue("server", "127.0.0.1", server=True)
    client_cert = ca.issue("client", "cluster-agent", server=False)
    stranger_ca = TestCA(tmp_path / "stranger", name="someone else")
    stranger = stranger_ca.issue("client", "cluster-agent", server=False)
    server = start_server(tmp_path / "server", extra_args=[
        "--tls-cert", str(server_cert.cert), "--tls-key", str(server_cert.key), "--tls-ca", ca.ca_path])
    try:
        ca_pem = ca.ca_path
        with RainbowClient(server.address, tls_ca=ca_pem, tls_cert=str(client_cert.cert),
                           tls_key=str(client_cert.key)) as good:
            assert good.health() == "SERVING"
            token, _ = register(good, "tls-cluster", server.secret, cluster_graph("tls-cluster"))
        before = store_dump(server.db_path)
        refused = {}
        attempts = {
            "no certificate": dict(tls_ca=ca_pem),
            "certificate of another CA": dict(tls_ca=ca_pem, tls_cert=str(stranger.cert), tls_key=str(stranger.key)),
            "plaintext": {},
        }
        for what, options in attempts.items():
            with RainbowClient(server.address, timeout=5, **options) as bad:
                with pytest.raises(RainbowError) as info:
                    bad.submit(nextgen_jobspec(), [("tls-cluster", token)], name="over-tls")
                refused[what] = info.value.code
        assert all(code == "UNAVAILABLE" for code in refused.values()), refused
        assert store_dump(server.db_path) == before, "a refused TLS client changed the store"
        assert server.running
        figures.add(refused=len(refused))
    finally:
        if server.running:
            server.stop()


def test_name_registered_again_inherits_nothing_from_the_deleted_cluster(tmp_path, figures):
    """A deleted cluster's credentials die with it, and whoever registers the name next sees none of its jobs."""
    server = start_server(tmp_path / "server")
    try:
        with RainbowClient(server.address) as client:
            graph = cluster_graph("phoenix", nodes=2, cores=4)
            old_token, old_secret = register(client, "phoenix", server.secret, graph)
            done = client.submit(nextgen_jobspec(), [("phoenix", old_token)], name="old-accepted").jobid
            assert client.accept("phoenix", old_secret, [done]) == "RESULT_TYPE_SUCCESS"
            client.submit(nextgen_jobspec(), [("phoenix", old_token)], name="old-pending")
            assert client.delete("phoenix", old_secret) == "DELETE_SUCCESS"

            new_token, new_secret = register(client, "phoenix", server.secret, graph)
            for call in (lambda: client.receive("phoenix", old_secret),
                         lambda: client.list_jobs("phoenix", old_secret),
                         lambda: client.submit(nextgen_jobspec(), [("phoenix", old_token)])):
                with pytest.raises(RainbowError) as info:
                    call()
                assert info.value.code == "PERMISSION_DENIED"
            assert client.receive("phoenix", new_secret) == []
            inherited = [(job.id, job.name, job.state) for job in client.iter_jobs("phoenix", new_secret)]
            assert not inherited, f"the new owner of the name sees the deleted cluster's jobs: {inherited}"
        figures.add(old_credentials_refused=3, inherited_jobs=0)
    finally:
        if server.running:
            server.stop()
