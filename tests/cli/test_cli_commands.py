"""The rainbow client commands through click's runner against a real scheduler reached in-process (conftest.py):
which settings win, what goes on the wire, what --save writes, and how answers and failures are printed."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rainbow import config as rconfig
from rainbow.cli import main

from .conftest import UPSTREAM, World

DEAD = "127.0.0.1:1"
_OBJ: dict = {}


@pytest.fixture
def fake(world: World, monkeypatch):
    """The test's scheduler; every command run() starts reaches it at `fake.address`."""
    for key in [k for k in os.environ if k.startswith("RAINBOW_")]:
        monkeypatch.delenv(key)
    monkeypatch.setattr(f"{__name__}._OBJ", world.obj)
    return world


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False, obj=_OBJ)


def write_config(path: Path, **sections) -> Path:
    cfg = rconfig.default_config()
    cfg.update(sections)
    rconfig.save_config(path, cfg)
    return path


def failed_one_line(result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 or (code == 2 and lines[-1].startswith("Error:")), result.stderr
    assert "Traceback" not in result.output
    return lines[-1]


# -- config -----------------------------------------------------------------------------------------------------
def test_config_init_writes_once(tmp_path, fake):
    path = tmp_path / "rainbow-config.yaml"
    result = run("config", "init", "--config-path", path, "--cluster-name", "red", "--secret", "s3",
                 "--host", "10.0.0.1:50051")
    assert result.exit_code == 0, result.output
    cfg = rconfig.load_config(path)
    assert (cfg["cluster"]["name"], cfg["scheduler"]["secret"], cfg["host"]) == ("red", "s3", "10.0.0.1:50051")
    assert cfg["graphdatabase"]["options"]["host"] == cfg["graphdatabase"]["host"] == "10.0.0.1:50051"
    again = run("config", "init", "--config-path", path)
    assert "exists" in failed_one_line(again)
    assert run("config", "init", "--config-path", path, "--force").exit_code == 0
    assert rconfig.load_config(path)["cluster"]["name"] == ""


def test_config_show_masks_secrets(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": "hush", "token": "t"},
                        clusters=[{"name": "red", "token": "t"}])
    shown = run("config", "show", "--config-path", path, "--json", env={"RAINBOW_HOST": "10.9.9.9:1"})
    data = json.loads(shown.stdout)
    assert data["cluster"]["secret"] == "***" and data["clusters"][0]["token"] == "***"
    assert data["host"] == "10.9.9.9:1"
    assert "hush" in run("config", "show", "--config-path", path, "--show-secrets").stdout


def test_a_bad_config_file_is_one_line(tmp_path, fake):
    path = tmp_path / "c.yaml"
    path.write_text("clusters: {not: a list}\n")
    line = failed_one_line(run("delete", "--config-path", path, "--host", fake.address))
    assert f"config {path}: clusters" in line


# -- register ---------------------------------------------------------------------------------------------------
def test_register_save_writes_credentials_and_keeps_other_clusters(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", clusters=[{"name": "blue", "token": "t-blue"}])
    result = run("register", "--cluster-name", "red", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                 "--secret", "reg", "--save", "--config-path", path, "--host", fake.address)
    assert result.exit_code == 0, result.output
    sent = fake.sent[-1]
    assert (sent.name, sent.secret) == ("red", "reg")
    assert json.loads(sent.nodes) == json.loads((UPSTREAM / "cluster-nodes.json").read_text())
    cfg = rconfig.load_config(path)
    token, secret = cfg["cluster"]["token"], cfg["cluster"]["secret"]
    assert cfg["cluster"]["name"] == "red" and token and secret
    assert f"token: {token}" in result.stdout and secret not in result.stdout
    assert cfg["clusters"] == [{"name": "blue", "token": "t-blue"}, {"name": "red", "token": token}]


def test_register_save_refuses_before_registering_over_another_cluster(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", cluster={"name": "blue", "secret": "s-blue", "token": "t-blue"})
    before = path.read_text()
    result = run("register", "--cluster-name", "red", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                 "--secret", "reg", "--save", "--config-path", path, "--host", fake.address)
    assert "credentials of cluster blue" in failed_one_line(result)
    assert fake.sent == []
    assert path.read_text() == before


def test_register_json_without_save_prints_both(tmp_path, fake):
    result = run("register", "--cluster-name", "red", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                 "--secret", "reg", "--json", "--config-path", tmp_path / "none.yaml", "--host", fake.address)
    data = json.loads(result.stdout)
    assert data["token"] and data["secret"]
    assert data == {"status": "REGISTER_SUCCESS", "cluster": "red", "token": data["token"], "secret": data["secret"],
                    "saved": None}
    assert not (tmp_path / "none.yaml").exists()


def test_register_existing_name_fails(tmp_path, fake):
    fake.register("exists")
    result = run("register", "--cluster-name", "exists", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                 "--secret", "reg", "--config-path", tmp_path / "c.yaml", "--host", fake.address)
    assert "already registered" in failed_one_line(result)


def test_register_needs_name_secret_and_graph(tmp_path, fake):
    base = ["register", "--config-path", tmp_path / "c.yaml", "--host", fake.address]
    assert "--cluster-name" in failed_one_line(run(*base, "--secret", "s", "--nodes-json",
                                                   UPSTREAM / "cluster-nodes.json"), 2)
    assert "RAINBOW_SECRET" in failed_one_line(run(*base, "--cluster-name", "red", "--nodes-json",
                                                   UPSTREAM / "cluster-nodes.json"), 2)
    assert "--nodes-json" in failed_one_line(run(*base, "--cluster-name", "red", "--secret", "s"), 2)
    assert fake.sent == []


def test_register_subsystem_uses_cluster_secret(tmp_path, fake):
    red = fake.register("red")
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": red.secret, "token": red.token})
    result = run("register", "subsystem", "--subsystem", "io", "--nodes-json", UPSTREAM / "cluster-io-subsystem.json",
                 "--config-path", path, "--host", fake.address, "--json")
    assert json.loads(result.stdout) == {"status": "REGISTER_SUCCESS", "cluster": "red", "subsystem": "io"}
    sent = fake.sent[-1]
    assert (sent.name, sent.secret, sent.subsystem) == ("red", red.secret, "io")


# -- precedence -------------------------------------------------------------------------------------------------
def test_flags_over_environment_over_file(tmp_path, fake):
    env_cluster, flag_cluster = fake.register("env"), fake.register("flag")
    path = write_config(tmp_path / "c.yaml", cluster={"name": "file", "secret": env_cluster.secret, "token": ""},
                        host=DEAD)
    state = UPSTREAM / "cluster-state.json"
    env = {"RAINBOW_CLUSTER_NAME": "env", "RAINBOW_HOST": fake.address, "RAINBOW_CONFIG": str(path)}

    assert run("update-state", "--state-file", state, env=env).exit_code == 0
    assert (fake.sent[-1].cluster, fake.sent[-1].secret) == ("env", env_cluster.secret)

    result = run("update-state", "--state-file", state, "--cluster-name", "flag", "--cluster-secret",
                 flag_cluster.secret, env=env)
    assert result.exit_code == 0, result.output
    assert (fake.sent[-1].cluster, fake.sent[-1].secret) == ("flag", flag_cluster.secret)

    # The file's host is dead: only the environment's address reaches the server, and a flag beats both.
    assert "UNAVAILABLE" in failed_one_line(run("update-state", "--state-file", state, "--config-path", path,
                                                "--timeout", "3"))
    assert run("update-state", "--state-file", state, "--host", fake.address, "--config-path", path,
               "--cluster-name", "env", env={"RAINBOW_HOST": DEAD}).exit_code == 0


def test_upstream_config_address_key_is_used(tmp_path, fake):
    red = fake.register("red")
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": red.secret, "token": ""},
                        graphdatabase={"name": "memory", "options": {"host": fake.address}})
    assert run("delete", "--config-path", path).exit_code == 0
    assert fake.sent[-1].name == "red"


# -- update-state -----------------------------------------------------------------------------------------------
def test_update_state_file_and_values(tmp_path, fake):
    red = fake.register("red")
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": red.secret, "token": ""})
    result = run("update-state", "--state-file", UPSTREAM / "cluster-state.json", "--set", "nodes_free=7",
                 "--set", "zone=west", "--config-path", path, "--host", fake.address, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(fake.sent[-1].payload)
    expected = json.loads((UPSTREAM / "cluster-state.json").read_text()) | {"nodes_free": 7, "zone": "west"}
    assert payload == expected == json.loads(result.stdout)["state"]


def test_update_state_rejects_non_object_file_locally(tmp_path, fake):
    bad = tmp_path / "state.json"
    bad.write_text("[1, 2]")
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": "cs", "token": ""})
    line = failed_one_line(run("update-state", "--state-file", bad, "--config-path", path, "--host", fake.address))
    assert "must hold a JSON object" in line
    assert fake.sent == []


# -- submit -----------------------------------------------------------------------------------------------------
def _user_config(tmp_path: Path, fake: World, **extra) -> Path:
    """A user's config listing clusters red and blue (the same graph, both registered) with their tokens."""
    fake.tokens = {name: fake.register(name).token for name in ("red", "blue")}
    return write_config(tmp_path / "c.yaml", clusters=[{"name": n, "token": t} for n, t in fake.tokens.items()],
                        **extra)


def test_submit_simple_command(tmp_path, fake):
    path = _user_config(tmp_path, fake)
    result = run("submit", "--nodes", "2", "--tasks", "24", "--config-path", path, "--host", fake.address,
                 "--", "lmp", "-in", "in.lj")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"submitted job \d+ to cluster (red|blue)", result.stdout.strip())
    sent = fake.sent[-1]
    assert [(c.name, c.token) for c in sent.clusters] == [("red", fake.tokens["red"]), ("blue", fake.tokens["blue"])]
    jobspec = json.loads(sent.jobspec)
    assert jobspec["resources"]["compute"] == {"type": "node", "replicas": 2,
                                               "with": [{"type": "core", "count": 12}]}
    assert jobspec["tasks"][0]["command"] == ["lmp", "-in", "in.lj"]
    assert sent.name == "lmp" and sent.select_algorithm == "random" and not sent.satisfy_only


def test_submit_jobspec_file_goes_as_written(tmp_path, fake):
    path = _user_config(tmp_path, fake)
    spec = UPSTREAM / "jobspec-constraint.yaml"
    green = fake.register("green").token
    result = run("submit", "--jobspec", spec, "--cluster", "blue", "--cluster", f"green={green}", "--config-path",
                 path, "--host", fake.address, "--json")
    data = json.loads(result.stdout)
    assert data["cluster"] in ("blue", "green") and data["jobid"] > 0
    assert data == {"status": "SUBMIT_SUCCESS", "jobid": data["jobid"], "cluster": data["cluster"],
                    "clusters": ["blue", "green"], "reasons": {}}
    sent = fake.sent[-1]
    assert sent.jobspec == spec.read_text()
    assert [(c.name, c.token) for c in sent.clusters] == [("blue", fake.tokens["blue"]), ("green", green)]


def test_submit_artifact_folds_requirements(tmp_path, fake):
    path = _user_config(tmp_path, fake)
    artifact = UPSTREAM / "artifact-lammps.json"
    result = run("submit", "--nodes", "1", "--artifact", artifact, "--config-path", path, "--host", fake.address,
                 "--", "lmp")
    # The sample cluster graph names no CPU target, so the server finds no cluster for the artifact's needs.
    assert "nodes have no cpu target" in failed_one_line(result)
    requires = json.loads(fake.sent[-1].jobspec)["requires"]
    assert requires and "io.archspec" in requires
    assert "cpu.vendor" not in requires["io.archspec"] and "cpu.model" not in requires["io.archspec"]
    run("submit", "--nodes", "1", "--artifact", artifact, "--strict", "--config-path", path, "--host", fake.address,
        "--", "lmp")
    strict = json.loads(fake.sent[-1].jobspec)["requires"]["io.archspec"]
    assert "cpu.vendor" in strict or "cpu.model" in strict


def test_submit_selection_from_config_and_flags(tmp_path, fake):
    priorities = (UPSTREAM / "rainbow-selection-config.yaml").read_text()
    options = yaml.safe_load(priorities)["scheduler"]["algorithms"]["selection"]["options"]
    scheduler = rconfig.default_config()["scheduler"]
    scheduler["algorithms"]["selection"] = {"name": "constraint", "options": options}
    path = _user_config(tmp_path, fake, scheduler=scheduler)
    run("submit", "--nodes", "1", "--satisfy-only", "--explain", "--select-option", "extra=1", "--config-path", path,
        "--host", fake.address, "--", "true")
    sent = fake.sent[-1]
    assert sent.select_algorithm == "constraint" and sent.satisfy_only
    assert dict(sent.select_options) == {"priorities": options["priorities"], "extra": "1"}
    # Another algorithm on the command line does not inherit the config's options for constraint.
    run("submit", "--nodes", "1", "--select-algorithm", "random", "--config-path", path, "--host", fake.address,
        "--", "true")
    sent = fake.sent[-1]
    assert sent.select_algorithm == "random" and dict(sent.select_options) == {}


def test_submit_explain_prints_each_cluster(tmp_path, fake):
    path = _user_config(tmp_path, fake)
    result = run("submit", "--nodes", "1", "--explain", "--config-path", path, "--host", fake.address, "--", "true")
    first, *clusters = result.stdout.splitlines()
    chosen = re.fullmatch(r"submitted job \d+ to cluster (red|blue)", first).group(1)
    other = "blue" if chosen == "red" else "red"
    assert sorted(clusters) == sorted([f"  {chosen}: selected", f"  {other}: fits, not selected"])
    satisfy = run("submit", "--nodes", "1", "--satisfy-only", "--config-path", path, "--host", fake.address,
                  "--", "true")
    assert satisfy.stdout.strip() == "clusters that fit: blue, red"
    too_big = run("submit", "--nodes", "4", "--explain", "--config-path", path, "--host", fake.address, "--", "true")
    assert failed_one_line(too_big) == "Error: no cluster fits the job"
    assert too_big.stdout.splitlines()[0] == "no cluster fits:"
    assert [line.split(":")[0] for line in too_big.stdout.splitlines()[1:]] == ["  red", "  blue"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--nodes", "1"], "--jobspec FILE"),
        (["--jobspec", UPSTREAM / "jobspec-io.yaml", "--nodes", "1", "--", "x"], "not both"),
        (["--select-option", "novalue", "--nodes", "1", "--", "x"], "KEY=VALUE"),
        (["--cluster", "nosuch", "--nodes", "1", "--", "x"], "no token"),
    ],
)
def test_submit_usage_errors(tmp_path, fake, args, words):
    path = _user_config(tmp_path, fake)
    line = failed_one_line(run("submit", *args, "--config-path", path, "--host", fake.address), 2)
    assert words in line
    assert fake.sent == []


def test_submit_bad_jobspec_is_one_line(tmp_path, fake):
    bad = tmp_path / "job.yaml"
    bad.write_text("version: 1\nresources: [unclosed\n")
    line = failed_one_line(run("submit", "--jobspec", bad, "--config-path", _user_config(tmp_path, fake),
                               "--host", fake.address))
    assert "jobspec" in line
    assert fake.sent == []


def test_submit_without_clusters(tmp_path, fake):
    line = failed_one_line(run("submit", "--nodes", "1", "--config-path", tmp_path / "none.yaml",
                               "--host", fake.address, "--", "true"), 2)
    assert "no clusters to submit to" in line


# -- receive, accept, jobs, delete ------------------------------------------------------------------------------
@pytest.fixture
def cluster_config(tmp_path, fake):
    """Cluster red, registered, with its credentials in a config file (`fake.red` the registration)."""
    fake.red = fake.register("red")
    return write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": fake.red.secret,
                                                      "token": fake.red.token})


def _queue(fake: World, count: int) -> list[int]:
    """Submit `count` jobs to cluster red directly; their ids, and what was sent forgotten."""
    with fake.client() as client:
        ids = [client.submit({"version": 1, "resources": [{"type": "node", "count": 1}],
                              "tasks": [{"command": ["true"], "slot": "default", "count": {"per_slot": 1}}]},
                             [("red", fake.red.token)], name=f"j{n}").jobid for n in range(count)]
    fake.forget()
    return ids


def test_receive_lists_in_order_and_accepts(cluster_config, fake):
    ids = _queue(fake, 4)
    result = run("receive", "--max-jobs", "3", "--config-path", cluster_config, "--host", fake.address)
    assert result.exit_code == 0, result.output
    assert [int(line.split("\t")[0]) for line in result.stdout.splitlines()] == ids[:3]
    assert fake.sent[-1].maxJobs == 3

    taken = run("receive", "--accept", "2", "--json", "--config-path", cluster_config, "--host", fake.address)
    assert taken.exit_code == 0, taken.output
    data = json.loads(taken.stdout)
    assert data["accepted"] == ids[:2] and data["accept_status"] == "RESULT_TYPE_SUCCESS"
    assert list(fake.sent[-1].jobids) == ids[:2]


def test_accept_partial_fails(cluster_config, fake):
    line = failed_one_line(run("accept", "5", "6", "--config-path", cluster_config, "--host", fake.address))
    assert "RESULT_TYPE_PARTIAL" in line
    assert list(fake.sent[-1].jobids) == [5, 6]


def test_jobs_follows_pages(cluster_config, fake):
    ids = _queue(fake, 5)
    with fake.client() as client:
        assert client.accept("red", fake.red.secret, ids[:1]) == "RESULT_TYPE_SUCCESS"
    result = run("jobs", "--page-size", "2", "--json", "--config-path", cluster_config, "--host", fake.address)
    data = json.loads(result.stdout)
    assert [job["id"] for job in data["jobs"]] == ids
    assert len([s for s in fake.sent if s.DESCRIPTOR.name == "ListJobsRequest"]) == 3
    text = run("jobs", "--config-path", cluster_config, "--host", fake.address).stdout.splitlines()
    assert text[0].split("\t") == ["ID", "STATE", "STATUS", "CLUSTER", "LOCAL", "EXIT", "SUBMITTED", "ACCEPTED", "ENDED",
                                    "NAME"]
    assert text[1].split("\t")[:2] == [str(ids[0]), "accepted"] and len(text) == 6


def test_delete_cluster_and_subsystem(cluster_config, fake):
    line = failed_one_line(run("delete", "--subsystem", "io", "--config-path", cluster_config,
                               "--host", fake.address))
    assert line.endswith("subsystem io of cluster red does not exist")
    assert fake.sent[-1].subsytem == "io"
    result = run("delete", "--config-path", cluster_config, "--host", fake.address)
    assert result.stdout.strip() == "deleted cluster red"


def test_server_errors_are_one_line(cluster_config, fake, tmp_path):
    wrong = write_config(tmp_path / "wrong.yaml", cluster={"name": "red", "secret": "not-the-secret", "token": ""})
    line = failed_one_line(run("receive", "--config-path", wrong, "--host", fake.address))
    assert line == "Error: PERMISSION_DENIED: cluster red: secret is missing or not valid"


def test_tls_settings_from_environment_are_checked(cluster_config, fake, tmp_path):
    line = failed_one_line(run("receive", "--config-path", cluster_config, "--host", fake.address,
                               env={"RAINBOW_TLS_CA": str(tmp_path / "missing-ca.pem")}))
    assert "missing-ca.pem" in line


def test_user_view_job_and_cancel(cluster_config, fake, tmp_path):
    ids = _queue(fake, 2)
    blue = fake.register("blue")
    with fake.client() as client:
        theirs = client.submit({"version": 1, "resources": [{"type": "node", "count": 1}],
                                "tasks": [{"command": ["true"], "slot": "default", "count": {"per_slot": 1}}]},
                               [("blue", blue.token)]).jobid
        assert client.accept("red", fake.red.secret, ids[1:]) == "RESULT_TYPE_SUCCESS"
    user = write_config(tmp_path / "user.yaml", clusters=[{"name": "red", "token": fake.red.token}])
    listed = json.loads(run("jobs", "--json", "--config-path", user, "--host", fake.address).stdout)
    assert [job["id"] for job in listed["jobs"]] == ids and theirs not in ids
    shown = run("job", str(ids[0]), "--config-path", user, "--host", fake.address).stdout.splitlines()
    assert f"id: {ids[0]}" in shown and "state: pending" in shown and "status: -" in shown
    hidden = run("job", str(theirs), "--config-path", user, "--host", fake.address)
    assert hidden.exit_code == 1 and f"job {theirs}: no such job among yours" in hidden.output
    withdrawn = run("cancel", str(ids[0]), "--config-path", user, "--host", fake.address)
    assert withdrawn.stdout.strip() == f"job {ids[0]} withdrawn: it was still queued for cluster red"
    requested = run("cancel", str(ids[1]), "--config-path", user, "--host", fake.address, "--json")
    assert json.loads(requested.stdout)["outcome"] == "requested"
    # The cluster's view (secret in its config) shows the same jobs with their new states.
    text = run("jobs", "--config-path", cluster_config, "--host", fake.address).stdout.splitlines()
    rows = {line.split("\t")[0]: line.split("\t") for line in text[1:]}
    assert rows[str(ids[0])][1:3] == ["closed", "cancelled"]
    assert rows[str(ids[1])][1:3] == ["accepted", "- (cancel requested)"]
    assert run("jobs", "--config-path", tmp_path / "none.yaml", "--host", fake.address).exit_code == 2
