"""Users, groups and grants against a real `rainbow serve`: the admin token manages them, a user token submits to
the clusters its grants reach (never outside them), upstream per-cluster tokens keep working, and every admin action
leaves a log line and an audit row."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rainbow.client import FailedPrecondition, NotFound, PermissionDenied, RainbowClient
from rainbow.graph.generate import NodeKind, make_graph
from rainbow.jobspec import simple_jobspec
from serverutil import DEFAULT_SECRET, start_server

ADMIN = "test-admin-token-0123456789"
_LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"


def graph(name: str, nodes: int, cores: int) -> str:
    return json.dumps(make_graph(name, [NodeKind(count=nodes, cores_per_socket=cores)]))


def rainbow(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    full = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-c", _LAUNCH, *args], capture_output=True, text=True, env=full,
                          timeout=120)


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path, extra_args=["--admin-token", ADMIN])
    yield srv
    srv.stop()


@pytest.fixture
def client(server):
    with RainbowClient(server.address, timeout=20) as c:
        yield c


def _clusters(client):
    """small: 2 nodes x 4 cores; big: 4 nodes x 16 cores; other: 8 nodes x 32 cores (granted to nobody)."""
    made = {}
    for name, nodes, cores in (("small", 2, 4), ("big", 4, 16), ("other", 8, 32)):
        made[name] = client.register(name, DEFAULT_SECRET, graph(name, nodes, cores))
    return made


def test_user_submits_through_a_group_and_never_outside_it(server, client, tmp_path):
    registered = _clusters(client)
    token = client.add_user(ADMIN, "ann")
    assert client.add_group(ADMIN, "lab", ["small", "big"]) is True
    assert client.grant(ADMIN, "ann", "lab") == "group"
    assert client.whoami(token) == ("ann", ["big", "small"])

    # A job that fits only big goes there; one that fits small or big goes to one of them.
    job = client.submit_as_user(simple_jobspec(2, 32, ["app"]), token)
    assert job.cluster == "big" and job.jobid > 0
    assert client.submit_as_user(simple_jobspec(1, 2, ["app"]), token).cluster in {"small", "big"}
    # --cluster narrows within the grant; naming a cluster outside it is refused.
    assert client.submit_as_user(simple_jobspec(1, 2, ["app"]), token, ["small"]).cluster == "small"
    with pytest.raises(PermissionDenied, match="other: not in the grants of user ann"):
        client.submit_as_user(simple_jobspec(1, 2, ["app"]), token, ["other"])
    # Only the ungranted cluster fits: refused, and the reason says so.
    with pytest.raises(FailedPrecondition) as refused:
        client.submit_as_user(simple_jobspec(8, 256, ["huge"]), token)
    assert "outside the grants of user ann, other would fit" in refused.value.details
    # Nothing fits anywhere: the plain refusal.
    with pytest.raises(FailedPrecondition) as nowhere:
        client.submit_as_user(simple_jobspec(100, 100, ["x"]), token)
    assert "outside the grants" not in nowhere.value.details

    # Upstream clients keep sending per-cluster tokens, which keep working.
    upstream = client.submit(simple_jobspec(1, 1, ["up"]), [("other", registered["other"].token)])
    assert upstream.cluster == "other"

    # The user's jobs across clusters, and only the user's.
    mine = list(client.iter_user_jobs(token))
    assert len(mine) == 3 and mine[0].cluster == "big" and {j.cluster for j in mine} <= {"small", "big"}
    assert all(j.id != upstream.jobid for j in mine)

    # A bad or removed token is refused.
    with pytest.raises(PermissionDenied):
        client.submit_as_user(simple_jobspec(1, 1, ["x"]), "not-a-token")
    client.remove_user(ADMIN, "ann")
    with pytest.raises(PermissionDenied):
        client.submit_as_user(simple_jobspec(1, 1, ["x"]), token)


def test_admin_calls_need_the_admin_token_and_are_audited(server, client):
    _clusters(client)
    with pytest.raises(PermissionDenied):
        client.add_user("wrong", "ann")
    with pytest.raises(PermissionDenied):
        client.list_users("")
    token = client.add_user(ADMIN, "bob")
    assert client.grant(ADMIN, "bob", "small") == "cluster"
    with pytest.raises(NotFound):
        client.grant(ADMIN, "bob", "nowhere")
    with pytest.raises(NotFound):
        client.grant(ADMIN, "nobody", "small")
    assert [(u.name, u.grants, u.clusters) for u in client.list_users(ADMIN)] == [
        ("bob", [("cluster", "small")], ["small"])]
    assert client.submit_as_user(simple_jobspec(1, 1, ["x"]), token).cluster == "small"
    assert client.revoke(ADMIN, "bob", "small") == "cluster"
    with pytest.raises(FailedPrecondition, match="no registered cluster in the user's grants"):
        client.submit_as_user(simple_jobspec(1, 1, ["x"]), token)
    actions = [(r.action, r.subject) for r in client.audit(ADMIN)]
    assert actions == [("user add", "bob"), ("grant", "bob"), ("user list", ""), ("revoke", "bob")]
    log = [line for line in server.stderr().splitlines() if " admin: " in line]
    assert [line.split(" admin: ", 1)[1].split(" (")[0].strip() for line in log] == [
        f"{a} {s}".strip() for a, s in actions]


def test_admin_off_without_a_token(tmp_path):
    srv = start_server(tmp_path)
    try:
        with RainbowClient(srv.address, timeout=20) as c:
            with pytest.raises(FailedPrecondition, match="no admin token is set"):
                c.add_user("anything", "ann")
    finally:
        srv.stop()


def test_cli_admin_submit_and_jobs(server, client, tmp_path):
    _clusters(client)
    env = {"RAINBOW_HOST": server.address, "RAINBOW_ADMIN_TOKEN": ADMIN,
           "RAINBOW_CONFIG": str(tmp_path / "none.yaml")}
    added = rainbow("admin", "user", "add", "cat", "--json", env=env)
    assert added.returncode == 0, added.stderr
    token = json.loads(added.stdout)["token"]
    made = rainbow("admin", "group", "add", "lab", "--cluster", "small", "--cluster", "big", env=env)
    assert made.returncode == 0 and "added group lab: small big" in made.stdout, made.stderr
    granted = rainbow("admin", "grant", "cat", "lab", env=env)
    assert granted.stdout.strip() == "granted group lab to user cat", granted.stderr
    listed = rainbow("admin", "user", "list", env=env)
    assert "cat" in listed.stdout and "group:lab" in listed.stdout and "big small" in listed.stdout

    user_env = {"RAINBOW_HOST": server.address, "RAINBOW_USER_TOKEN": token,
                "RAINBOW_CONFIG": str(tmp_path / "none.yaml")}
    sent = rainbow("submit", "--nodes", "2", "--tasks", "32", "--", "app", env=user_env)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("submitted job ") and sent.stdout.strip().endswith("to cluster big")
    refused = rainbow("submit", "--nodes", "8", "--tasks", "256", "--", "huge", env=user_env)
    assert refused.returncode == 1
    assert len(refused.stderr.strip().splitlines()) == 1 and "outside the grants of user cat" in refused.stderr
    jobs = rainbow("jobs", env=user_env)
    assert jobs.returncode == 0, jobs.stderr
    assert jobs.stdout.splitlines()[0] == "ID\tCLUSTER\tSTATE\tSUBMITTED\tACCEPTED\tNAME"
    assert "\tbig\tpending\t" in jobs.stdout
    audit = rainbow("admin", "audit", env=env)
    assert [line.split("\t")[2] for line in audit.stdout.splitlines()] == ["user add", "group add", "grant",
                                                                           "user list"]
    denied = rainbow("admin", "user", "list", env={**env, "RAINBOW_ADMIN_TOKEN": "wrong"})
    assert denied.returncode == 1 and "admin token is missing or not valid" in denied.stderr
