"""The scheduler in-process: credentials never stored in the clear, cached answers expire on every cluster change,
and the generation cache itself."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rainbow.jobspec import simple_jobspec
from rainbow.server.cache import GenerationCache, digest
from rainbow.server.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from rainbow.server.scheduler import EXISTS, NO_EXISTS, SUCCESS, Scheduler, SelectionConfig
from rainbow.store import open_store

DATA = Path(__file__).resolve().parents[1] / "data" / "upstream"
GRAPH = (DATA / "cluster-nodes.json").read_text()
IO = (DATA / "cluster-io-subsystem.json").read_text()
IO_JOB = (DATA / "jobspec-io.yaml").read_text()
SMALL = json.dumps(simple_jobspec(1, 1, ["x"]))


@pytest.fixture
def scheduler(tmp_path):
    s = Scheduler(open_store(tmp_path / "s.db"), registration_secret="reg")
    yield s
    s.store.close()


def test_credentials_are_stored_as_hashes(scheduler, tmp_path):
    red = scheduler.register("red", "reg", GRAPH)
    assert red.status == SUCCESS
    dump = "\n".join(sqlite3.connect(tmp_path / "s.db").iterdump())
    assert red.token not in dump and red.secret not in dump
    assert scheduler.register("red", "reg", GRAPH).status == EXISTS
    with pytest.raises(PermissionDenied):
        scheduler.register("blue", "REG", GRAPH)


def test_cached_answers_follow_subsystem_changes(scheduler):
    red = scheduler.register("red", "reg", GRAPH)
    tokens = [("red", red.token)]
    for _ in range(2):  # the second answer comes from the cache
        assert scheduler.submit(IO_JOB, tokens, satisfy_only=True).clusters == []
    assert scheduler.register_subsystem("red", red.secret, "io", IO) == SUCCESS
    assert scheduler.submit(IO_JOB, tokens, satisfy_only=True).clusters == ["red"]
    assert scheduler.delete_subsystem("red", red.secret, "io") == SUCCESS
    assert scheduler.submit(IO_JOB, tokens, satisfy_only=True).clusters == []
    assert scheduler.delete_subsystem("red", red.secret, "io") == NO_EXISTS


def test_cached_tokens_expire_when_a_cluster_goes(scheduler):
    red = scheduler.register("red", "reg", GRAPH)
    tokens = [("red", red.token)]
    first = scheduler.submit(SMALL, tokens)
    assert first.cluster == "red" and first.jobid > 0
    assert scheduler.delete("red", red.secret) == SUCCESS
    with pytest.raises(PermissionDenied):
        scheduler.submit(SMALL, tokens)
    again = scheduler.register("red", "reg", GRAPH)
    with pytest.raises(PermissionDenied):
        scheduler.submit(SMALL, tokens)  # the old token is not the new cluster's
    assert scheduler.submit(SMALL, [("red", again.token)]).jobid > first.jobid


def test_state_cache_and_constraint_selection(scheduler):
    red, blue = scheduler.register("red", "reg", GRAPH), scheduler.register("blue", "reg", GRAPH)
    tokens = [("red", red.token), ("blue", blue.token)]
    options = {"priorities": "- priority: 1\n  steps:\n  - filter: free > 0\n  - select: first\n"}
    scheduler.update_state("red", red.secret, '{"free": 1}')
    scheduler.update_state("blue", blue.secret, '{"free": 0}')
    assert scheduler.submit(SMALL, tokens, algorithm="constraint", options=options).cluster == "red"
    probe = scheduler.submit(SMALL, tokens, algorithm="constraint", options=options, satisfy_only=True)
    assert probe.clusters == ["red"]
    assert probe.reasons == {"blue": "fits, but selection constraint left it out"}
    scheduler.update_state("red", red.secret, '{"free": 0}')
    with pytest.raises(FailedPrecondition, match="constraint"):
        scheduler.submit(SMALL, tokens, algorithm="constraint", options=options)
    with pytest.raises(InvalidArgument):
        scheduler.update_state("red", red.secret, '["free"]')
    with pytest.raises(PermissionDenied, match="^cluster green: secret is missing or not valid$"):
        scheduler.update_state("green", "x", "{}")


def test_rebuild_from_the_store(tmp_path):
    store = open_store(tmp_path / "r.db")
    first = Scheduler(store, registration_secret="reg", selection=SelectionConfig("random", {}))
    red = first.register("red", "reg", GRAPH)
    first.register_subsystem("red", red.secret, "io", IO)
    second = Scheduler(store, registration_secret="reg")
    assert second.rebuild() == 1
    assert second.satisfy(IO_JOB).clusters == ["red"]
    assert second.submit(SMALL, [("red", red.token)]).cluster == "red"
    store.close()


def test_generation_cache():
    cache = GenerationCache(2)
    g = cache.generation
    cache.put("a", g, 1)
    cache.put("b", g, 2)
    cache.put("c", g, 3)
    assert cache.get("a", g) is None and cache.get("c", g) == 3  # least recently used went
    cache.bump()
    assert cache.get("c", g) is None and cache.get("c", cache.generation) is None
    cache.put("d", g, 4)  # computed before the bump: not kept
    assert cache.get("d", cache.generation) is None
    assert digest(["a", "b"]) != digest(["a\0b"]) is None
    assert digest(["ab"]) != digest(["a", "b"]) and digest(["a", "b"]) == digest(["a", "b"])
    cache.put(None, cache.generation, 5)
    assert cache.get(None, cache.generation) is None


def _graph_with_os(vendor: str) -> str:
    graph = json.loads(GRAPH)
    for vertex in graph["graph"]["nodes"].values():
        if vertex["metadata"]["type"] == "node":
            vertex["metadata"]["properties"] = {"system.os.vendor": vendor}
    return json.dumps(graph)


SITE_MAPPINGS = """\
version: "1"
kind: CompatibilityMappings
compatibilities:
  - name: org.example.site
    attributes:
      distro: system.os.vendor
    comparisons:
      distro: casefold
"""
SITE_JOB = json.dumps({**simple_jobspec(1, 1, ["x"]), "requires": {"org.example.site": {"distro": "Rocky"}}})


def test_site_compatibility_mappings_reach_parsing_and_matching(tmp_path):
    from compspec.compat import load_mappings

    (tmp_path / "site.yaml").write_text(SITE_MAPPINGS)
    s = Scheduler(open_store(tmp_path / "m.db"), registration_secret="reg",
                  mappings=load_mappings([tmp_path / "site.yaml"]))
    try:
        rocky, ubuntu = s.register("rocky", "reg", _graph_with_os("rocky")), s.register("ubuntu", "reg",
                                                                                        _graph_with_os("ubuntu"))
        probe = s.submit(SITE_JOB, [("rocky", rocky.token), ("ubuntu", ubuntu.token)], satisfy_only=True)
        assert probe.clusters == ["rocky"]
        assert "distro" in probe.reasons["ubuntu"]
    finally:
        s.store.close()


def test_without_site_mappings_the_namespace_is_unknown(scheduler):
    red = scheduler.register("red", "reg", _graph_with_os("rocky"))
    with pytest.raises(InvalidArgument, match="org.example.site"):
        scheduler.submit(SITE_JOB, [("red", red.token)], satisfy_only=True)


def test_serve_refuses_an_unreadable_mappings_file(tmp_path):
    from click.testing import CliRunner

    from rainbow.cli import main

    result = CliRunner().invoke(main, ["serve", "--port", "0", "--db", str(tmp_path / "x.db"), "--secret", "s",
                                       "--compat-mappings", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1
    assert "--compat-mappings" in result.output and "missing.yaml" in result.output


def test_unknown_cluster_is_answered_as_a_wrong_secret(tmp_path):
    """Every call checked with a cluster secret: an unknown name gets the wrong secret's code and words, so the
    answers do not tell which names are registered; deleting a cluster that is not there is an error."""
    scheduler = Scheduler(open_store(tmp_path / "r.db"), registration_secret="reg",
                          selection=SelectionConfig("random", {}))
    red = scheduler.register("red", "reg", GRAPH)
    calls = {
        "receive": lambda name, secret: scheduler.receive(name, secret),
        "accept": lambda name, secret: scheduler.accept(name, secret, [1]),
        "state": lambda name, secret: scheduler.update_state(name, secret, "{}"),
        "subsystem": lambda name, secret: scheduler.register_subsystem(name, secret, "io", IO),
        "delete subsystem": lambda name, secret: scheduler.delete_subsystem(name, secret, "io"),
        "delete": lambda name, secret: scheduler.delete(name, secret),
    }
    for what, call in calls.items():
        with pytest.raises(PermissionDenied) as wrong:
            call("red", "guess")
        with pytest.raises(PermissionDenied) as unknown:
            call("green", "guess")
        assert str(unknown.value) == str(wrong.value).replace("red", "green"), what
    assert scheduler.delete("red", red.secret) == SUCCESS
    with pytest.raises(PermissionDenied, match="^cluster red: secret is missing or not valid$"):
        scheduler.delete("red", red.secret)


def test_jobspecs_that_differ_only_in_their_command_share_one_match(scheduler, monkeypatch):
    red = scheduler.register("red", "reg", GRAPH)
    tokens = [("red", red.token)]
    calls = []
    real = scheduler.matcher.match
    monkeypatch.setattr(scheduler.matcher, "match", lambda *a, **k: calls.append(a) or real(*a, **k))
    for tag in ("a", "b", "c"):
        assert scheduler.submit(json.dumps(simple_jobspec(1, 1, ["app", tag])), tokens).cluster == "red"
    assert len(calls) == 1
    # a different requirement is a different match
    asks_io = json.loads(json.dumps(simple_jobspec(1, 1, ["app"])))
    asks_io["resources"]["compute"]["requires"] = [{"name": "io", "field": "type", "match": "shm"}]
    assert scheduler.submit(json.dumps(asks_io), tokens, satisfy_only=True).clusters == []
    assert len(calls) == 2


def test_repeated_submits_store_the_same_owners_and_account(scheduler, tmp_path):
    """A submit with the same candidate list as the one before reuses its token check, owners and assignment account;
    what is stored is the same as for the first."""
    red = scheduler.register("red", "reg", GRAPH)
    blue = scheduler.register("blue", "reg", GRAPH)
    clusters = [("red", red.token), ("blue", blue.token)]
    jobs = [scheduler.submit(SMALL, clusters).jobid for _ in range(3)]
    db = sqlite3.connect(tmp_path / "s.db")
    rows = db.execute(f"SELECT owners, candidates FROM jobs WHERE id IN ({','.join(map(str, jobs))})").fetchall()
    assert len(set(rows)) == 1
    owners, candidates = rows[0]
    assert len(json.loads(owners)) == 2 and sorted(json.loads(candidates)) == ["blue", "red"]
    accounts = db.execute(f"SELECT job, cluster, others FROM assignments WHERE job IN ({','.join(map(str, jobs))})"
                          ).fetchall()
    assert len(accounts) == 3
    for _, cluster, others in accounts:
        other = "blue" if cluster == "red" else "red"
        assert json.loads(others) == {other: f"fits; selection random chose {cluster}"}
    # a changed token is checked again, not answered from the cache
    with pytest.raises(PermissionDenied):
        scheduler.submit(SMALL, [("red", red.token), ("blue", "wrong")])


def test_assignment_accounts_are_shared_read_only():
    from rainbow.server.scheduler import assignment_reasons

    first = assignment_reasons("random", "a", ["a", "b"], ["a", "b"], ["a", "b"], {}, None)
    again = assignment_reasons("random", "a", ["a", "b"], ["a", "b"], ["a", "b"], {}, None)
    assert again is first
    with pytest.raises(TypeError):
        first.others["b"] = "changed"  # type: ignore[index]
    other = assignment_reasons("random", "b", ["a", "b"], ["a", "b"], ["a", "b"], {}, None)
    assert other.others == {"a": "fits; selection random chose b"}


def test_the_collector_is_tuned_for_a_serving_process():
    import gc

    from rainbow.server.app import tune_collector

    before = gc.get_threshold()
    try:
        tune_collector(young=12_345)
        assert gc.get_threshold()[0] == 12_345
        assert gc.get_freeze_count() > 0  # what was loaded before serving is out of the collector's scans
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
