"""Users, groups, grants, the audit trail and credential rotation, the same on both backends."""
from __future__ import annotations

import time

import pytest

from rainbow.store import (ADMIN_TOKEN, ADMIN_TOKEN_HASH, CLUSTER_SECRET, CLUSTER_TOKEN, USER_TOKEN, AuditEntry,
                           open_store)


@pytest.fixture
def store(store_url):
    s = open_store(store_url)
    yield s
    s.close()


def test_users_groups_and_grants(store):
    before = store.changes().clusters
    assert store.add_user("ann", "h-ann", AuditEntry("user add", "ann"))
    assert not store.add_user("ann", "h-other")
    assert store.changes().clusters > before
    assert store.add_user("bob", "h-bob")
    assert store.add_group("gpu", ["red", "blue"], AuditEntry("group add", "gpu", "red blue"))
    assert not store.add_group("gpu", ["green"])
    assert [(g.name, g.clusters) for g in store.groups()] == [("gpu", ("blue", "green", "red"))]
    assert store.grant("ann", "group", "gpu")
    assert store.grant("ann", "group", "gpu")  # twice is one grant
    assert store.grant("ann", "cluster", "solo")
    assert not store.grant("ann", "group", "nope")
    assert not store.grant("carl", "cluster", "red")
    assert store.user_clusters("ann") == ["blue", "green", "red", "solo"]
    assert store.user_clusters("bob") == []
    assert [(u.name, u.grants) for u in store.users()] == [
        ("ann", (("cluster", "solo"), ("group", "gpu"))), ("bob", ())]
    assert store.user_for_token("h-ann") == ("ann", 0.0)
    assert store.user_for_token("h-nobody") is None
    assert store.revoke("ann", "cluster", "solo")
    assert not store.revoke("ann", "cluster", "solo")
    assert store.user_clusters("ann") == ["blue", "green", "red"]
    assert store.remove_group("gpu")
    assert store.user_clusters("ann") == []
    assert store.remove_user("bob")
    assert not store.remove_user("bob")
    assert store.user_for_token("h-bob") is None
    assert [(a.action, a.subject, a.detail) for a in store.audit_log()] == [
        ("user add", "ann", ""), ("group add", "gpu", "red blue")]
    listed = store.add_audit(AuditEntry("user list", "", ""))
    assert [a.id for a in store.audit_log(after_id=listed - 1)] == [listed]


def test_user_jobs_across_clusters(store):
    store.register_cluster("red", "t", "s", "{}")
    store.register_cluster("blue", "t", "s", "{}")
    store.add_user("ann", "h")
    a = store.add_job("red", "a", "spec", user="ann")
    store.add_job("red", "other", "spec")
    b = store.add_job("blue", "b", "spec", user="ann")
    assert [(j.id, j.cluster) for j in store.user_jobs("ann")] == [(a, "red"), (b, "blue")]
    assert [j.id for j in store.user_jobs("ann", after_id=a)] == [b]
    assert [j.id for j in store.user_jobs("ann", limit=1)] == [a]
    store.accept_jobs("blue", [b])
    store.delete_cluster("blue")  # accepted jobs stay on the user's record
    assert [j.id for j in store.user_jobs("ann")] == [a, b]


def test_user_token_rotation_with_and_without_overlap(store):
    store.add_user("ann", "old")
    assert store.set_user_token("ann", "new", keep_old_until=time.time() + 60)
    assert store.user_for_token("new") == ("ann", 0.0) and store.user_for_token("old")[0] == "ann"
    assert store.user_for_token("old")[1] > time.time()
    assert store.retiring_hashes(USER_TOKEN, "ann") == ["old"]
    assert store.set_user_token("ann", "newer")
    assert store.user_for_token("old")[0] == "ann"  # its overlap still runs
    assert store.user_for_token("new") is None
    assert store.set_user_token("ann", "last", keep_old_until=time.time() - 1)
    assert store.user_for_token("newer") is None
    assert not store.set_user_token("nobody", "x")


def test_cluster_and_setting_rotation(store):
    store.register_cluster("red", "t1", "s1", '{"g": 1}')
    before = store.changes().clusters
    assert store.rotate_cluster_credential("red", CLUSTER_TOKEN, "t2", time.time() + 60,
                                           AuditEntry("rotate", "red", "cluster token"))
    assert store.get_cluster("red").token_hash == "t2"
    assert store.cluster_revisions()["red"][1] == "t2"
    assert store.retiring_hashes(CLUSTER_TOKEN, "red") == ["t1"]
    assert store.rotate_cluster_credential("red", CLUSTER_SECRET, "s2")
    assert store.get_cluster("red").secret_hash == "s2"
    assert store.retiring_hashes(CLUSTER_SECRET, "red") == []
    assert store.changes().clusters > before
    assert not store.rotate_cluster_credential("blue", CLUSTER_TOKEN, "x")
    assert not store.rotate_setting(ADMIN_TOKEN_HASH, ADMIN_TOKEN, "a2")
    store.set_setting(ADMIN_TOKEN_HASH, "a1")
    assert store.rotate_setting(ADMIN_TOKEN_HASH, ADMIN_TOKEN, "a2", time.time() + 60)
    assert store.get_setting(ADMIN_TOKEN_HASH) == "a2"
    assert store.retiring_hashes(ADMIN_TOKEN) == ["a1"]
    assert store.delete_cluster("red")
    assert store.retiring_hashes(CLUSTER_TOKEN, "red") == []
    assert [a.action for a in store.audit_log()] == ["rotate"]


def test_replace_graph_keeps_credentials_and_subsystems(store):
    first = store.register_cluster("red", "t", "s", '{"g": 1}')
    store.add_subsystem("red", "io", '{"io": 1}')
    store.set_state("red", '{"a": 1}')
    revision = store.replace_graph("red", '{"g": 2}')
    assert revision > first
    graphs = store.get_graphs("red")
    assert graphs.graph == '{"g": 2}' and dict(graphs.subsystems) == {"io": '{"io": 1}'}
    assert store.get_cluster("red").token_hash == "t"
    assert store.cluster_revisions()["red"][0] == revision
    assert store.replace_graph("blue", "{}") == 0
