"""Two replicas on one store: a credential rotated out, a user removed or a grant revoked through one is refused by
the other at its very next call, with warm caches (on each backend)."""
from __future__ import annotations

import json

import pytest

from rainbow.graph.generate import NodeKind, make_graph
from rainbow.jobspec import simple_jobspec
from rainbow.server.access import Access
from rainbow.server.errors import FailedPrecondition, PermissionDenied
from rainbow.server.registration import settle_admin_token, settle_registration_secret
from rainbow.server.scheduler import Scheduler
from rainbow.store import open_store

ADMIN = "admin-token-for-replicas"
SMALL = json.dumps(simple_jobspec(1, 1, ["x"]))
WIDE = json.dumps(simple_jobspec(3, 12, ["x"]))


def graph(nodes: int) -> str:
    return json.dumps(make_graph("c", [NodeKind(count=nodes, cores_per_socket=4)]))


@pytest.fixture
def pair(store_url):
    replicas = []
    for _ in range(2):
        store = open_store(store_url, pool_size=4)
        settle_registration_secret(store, "reg")
        settle_admin_token(store, ADMIN)
        scheduler = Scheduler(store, registration_secret="reg")
        scheduler.rebuild()
        replicas.append((scheduler, Access(scheduler)))
    yield replicas
    for scheduler, _ in replicas:
        scheduler.store.close()


def test_rotated_credentials_are_refused_by_the_other_replica_at_once(pair):
    (first, first_access), (second, second_access) = pair
    red = first.register("red", "reg", graph(2))
    token = first_access.add_user(ADMIN, "ann")
    first_access.grant(ADMIN, "ann", "red")
    # Warm the second replica's caches: the cluster token, the user token, the cluster secret.
    assert second.submit(SMALL, [("red", red.token)]).cluster == "red"
    assert second.submit_as_user(SMALL, token).cluster == "red"
    assert second.receive("red", red.secret)

    new_token = first_access.rotate("cluster-token", "red", red.secret).credential
    with pytest.raises(PermissionDenied):
        second.submit(SMALL, [("red", red.token)])
    assert second.submit(SMALL, [("red", new_token)]).cluster == "red"

    new_secret = first_access.rotate("cluster-secret", "red", red.secret).credential
    with pytest.raises(PermissionDenied):
        second.receive("red", red.secret)
    assert second.receive("red", new_secret)

    new_user = first_access.rotate("user-token", "", token).credential
    with pytest.raises(PermissionDenied):
        second.submit_as_user(SMALL, token)
    assert second.submit_as_user(SMALL, new_user).cluster == "red"

    first_access.revoke(ADMIN, "ann", "red")
    with pytest.raises(FailedPrecondition, match="no registered cluster in the user's grants"):
        second.submit_as_user(SMALL, new_user)

    new_reg = first_access.rotate("registration-secret", "", "reg").credential
    with pytest.raises(PermissionDenied):
        second.register("blue", "reg", graph(1))
    assert second.register("blue", new_reg, graph(1)).token

    new_admin = first_access.rotate("admin-token", "", ADMIN, new_value="a-new-admin-token-0123").credential
    assert new_admin == "a-new-admin-token-0123"
    with pytest.raises(PermissionDenied):
        second_access.list_users(ADMIN)
    assert [u.name for u, _ in second_access.list_users(new_admin)] == ["ann"]


def test_overlap_keeps_the_old_credential_working_everywhere(pair):
    (first, first_access), (second, _) = pair
    red = first.register("red", "reg", graph(2))
    new_token = first_access.rotate("cluster-token", "red", ADMIN, overlap_seconds=3600).credential
    assert second.submit(SMALL, [("red", red.token)]).cluster == "red"
    assert second.submit(SMALL, [("red", new_token)]).cluster == "red"
    # Rotating again without overlap leaves the first token's own overlap running, and refuses the second.
    newest = first_access.rotate("cluster-token", "red", red.secret).credential
    with pytest.raises(PermissionDenied):
        second.submit(SMALL, [("red", new_token)])
    assert second.submit(SMALL, [("red", red.token)]).cluster == "red"
    assert second.submit(SMALL, [("red", newest)]).cluster == "red"


def test_graph_update_in_place_is_seen_by_the_other_replica(pair):
    (first, first_access), (second, _) = pair
    red = first.register("red", "reg", graph(2))
    assert second.submit(WIDE, [("red", red.token)], satisfy_only=True).clusters == []
    assert first_access.update_graph("red", red.secret, graph(4)) == 4
    assert second.submit(WIDE, [("red", red.token)]).cluster == "red"
    with pytest.raises(PermissionDenied):
        first_access.update_graph("red", "wrong", graph(1))
