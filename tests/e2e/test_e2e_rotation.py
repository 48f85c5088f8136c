"""Every credential rotates against a real `rainbow serve`, with and without an overlap, and what was rotated holds
across a restart: the new credential works, the old one works until its overlap ends and is refused after."""
from __future__ import annotations

import json
import time

import pytest

from rainbow.client import PermissionDenied, RainbowClient
from rainbow.graph.generate import NodeKind, make_graph
from rainbow.jobspec import simple_jobspec
from serverutil import DEFAULT_SECRET, ServerError, start_server

from .test_e2e_users import rainbow

ADMIN = "test-admin-token-0123456789"
JOB = simple_jobspec(1, 1, ["x"])


def graph(nodes: int) -> str:
    return json.dumps(make_graph("c", [NodeKind(count=nodes, cores_per_socket=4)]))


@pytest.fixture
def server(tmp_path):
    srv = start_server(tmp_path, extra_args=["--admin-token", ADMIN])
    yield srv
    if srv.running:
        srv.stop()


def connect(server) -> RainbowClient:
    return RainbowClient(server.address, timeout=20)


def test_cluster_token_with_overlap_then_without(server):
    with connect(server) as c:
        red = c.register("red", DEFAULT_SECRET, graph(1))
        second = c.rotate("cluster-token", red.secret, "red", overlap_seconds=3600)
        assert second.old_until > time.time()
    server.restart()
    with connect(server) as c:
        assert c.submit(JOB, [("red", red.token)]).cluster == "red"
        assert c.submit(JOB, [("red", second.credential)]).cluster == "red"
        third = c.rotate("cluster-token", red.secret, "red")
        assert third.old_until == 0
    server.restart()
    with connect(server) as c:
        with pytest.raises(PermissionDenied):
            c.submit(JOB, [("red", second.credential)])
        assert c.submit(JOB, [("red", third.credential)]).cluster == "red"
        assert c.submit(JOB, [("red", red.token)]).cluster == "red"  # its own overlap still runs


def test_cluster_secret(server):
    with connect(server) as c:
        red = c.register("red", DEFAULT_SECRET, graph(1))
        new = c.rotate("cluster-secret", red.secret, "red").credential
    server.restart()
    with connect(server) as c:
        with pytest.raises(PermissionDenied):
            c.receive("red", red.secret)
        assert c.receive("red", new) == []
        # The token did not change.
        assert c.submit(JOB, [("red", red.token)]).cluster == "red"


def test_user_token_overlap_ends(server):
    with connect(server) as c:
        c.register("red", DEFAULT_SECRET, graph(1))
        old = c.add_user(ADMIN, "ann")
        c.grant(ADMIN, "ann", "red")
        new = c.rotate("user-token", ADMIN, "ann", overlap_seconds=1.5)
    server.restart()
    with connect(server) as c:
        assert c.submit_as_user(JOB, new.credential).cluster == "red"
        if time.time() < new.old_until:  # a slow restart may already have outlived the overlap
            assert c.submit_as_user(JOB, old).cluster == "red"
        time.sleep(max(0.0, new.old_until - time.time()) + 0.2)
        with pytest.raises(PermissionDenied):
            c.submit_as_user(JOB, old)
        # A user rotates its own token with it.
        own = c.rotate("user-token", new.credential).credential
        with pytest.raises(PermissionDenied):
            c.whoami(new.credential)
        assert c.whoami(own) == ("ann", ["red"])


def test_registration_secret(server):
    with connect(server) as c:
        new = c.rotate("registration-secret", DEFAULT_SECRET, overlap_seconds=3600).credential
    server.restart()  # still started with the old --secret: accepted while its overlap runs
    with connect(server) as c:
        assert c.register("a", DEFAULT_SECRET, graph(1)).status == "REGISTER_SUCCESS"
        assert c.register("b", new, graph(1)).status == "REGISTER_SUCCESS"
        newest = c.rotate("registration-secret", ADMIN, new_value="a-brand-new-registration-secret").credential
        assert newest == "a-brand-new-registration-secret"
        with pytest.raises(PermissionDenied):
            c.register("c", new, graph(1))
    server.secret = None  # the store's secret
    server.restart()
    with connect(server) as c:
        assert c.register("d", newest, graph(1)).status == "REGISTER_SUCCESS"
        with pytest.raises(PermissionDenied):
            c.register("e", new, graph(1))


def test_admin_token(server):
    with connect(server) as c:
        new = c.rotate("admin-token", ADMIN).credential
        with pytest.raises(PermissionDenied):
            c.list_users(ADMIN)
    server.stop()
    with pytest.raises(ServerError, match="different admin token"):
        server.start(server.port)
    server.extra_args = ("--admin-token", new)
    server.start(server.port)
    with connect(server) as c:
        assert c.list_users(new) == []
        with pytest.raises(PermissionDenied):
            c.add_user(ADMIN, "x")
        assert [r.action for r in c.audit(new)] == ["rotate", "user list"]


def test_cli_rotate_and_register_update(server, tmp_path):
    env = {"RAINBOW_HOST": server.address, "RAINBOW_CONFIG": str(tmp_path / "none.yaml")}
    made = rainbow("register", "--cluster-name", "red", "--nodes-json", _write(tmp_path / "g2.json", graph(2)),
                   "--secret", DEFAULT_SECRET, "--json", env=env)
    assert made.returncode == 0, made.stderr
    red = json.loads(made.stdout)
    cluster = {**env, "RAINBOW_CLUSTER_NAME": "red", "RAINBOW_CLUSTER_SECRET": red["secret"]}

    wide = simple_jobspec(3, 12, ["x"])
    with connect(server) as c:
        assert c.submit(wide, [("red", red["token"])], satisfy_only=True).clusters == []
    updated = rainbow("register", "--update", "--nodes-json", _write(tmp_path / "g4.json", graph(4)), env=cluster)
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.strip() == "updated the graph of cluster red (4 nodes); its tokens and secret are unchanged"
    server.restart()
    with connect(server) as c:
        assert c.submit(wide, [("red", red["token"])]).cluster == "red"

    rotated = rainbow("rotate", "cluster-token", "--overlap", "60", "--json", env=cluster)
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)
    assert new["kind"] == "cluster-token" and new["name"] == "red" and new["old_until"] > time.time()
    text = rainbow("rotate", "cluster-secret", env=cluster)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "rotated the cluster-secret of red" and lines[2] == "the old one is refused from now on"
    again = rainbow("rotate", "cluster-secret", env=cluster)
    assert again.returncode == 1 and "secret is missing or not valid" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    admin = rainbow("rotate", "admin-token", "--admin-token", ADMIN, "--new-value", "x" * 20, env=env)
    assert admin.returncode == 0 and "new: " + "x" * 20 in admin.stdout, admin.stderr


def _write(path, text: str) -> str:
    path.write_text(text)
    return str(path)
