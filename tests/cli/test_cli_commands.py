"""The rainbow client commands through click's runner against the scripted fake server: which settings win, what
goes on the wire, what --save writes, and how answers and failures are printed."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rainbow import config as rconfig
from rainbow.cli import main

from .fake_rainbow import FakeServer

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"
DEAD = "127.0.0.1:1"


@pytest.fixture(scope="module")
def server():
    fake = FakeServer()
    yield fake
    fake.stop()


@pytest.fixture
def fake(server, monkeypatch):
    for key in [k for k in os.environ if k.startswith("RAINBOW_")]:
        monkeypatch.delenv(key)
    server.reset()
    return server


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


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
    assert "token: tok" in result.stdout and "sec" not in result.stdout.replace("secret and token saved", "")
    sent = fake.scheduler.requests[-1]
    assert (sent.name, sent.secret) == ("red", "reg")
    assert json.loads(sent.nodes) == json.loads((UPSTREAM / "cluster-nodes.json").read_text())
    cfg = rconfig.load_config(path)
    assert cfg["cluster"] == {"name": "red", "secret": "sec", "token": "tok"}
    assert cfg["clusters"] == [{"name": "blue", "token": "t-blue"}, {"name": "red", "token": "tok"}]


def test_register_save_refuses_before_registering_over_another_cluster(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", cluster={"name": "blue", "secret": "s-blue", "token": "t-blue"})
    before = path.read_text()
    result = run("register", "--cluster-name", "red", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                 "--secret", "reg", "--save", "--config-path", path, "--host", fake.address)
    assert "credentials of cluster blue" in failed_one_line(result)
    assert fake.scheduler.requests == []
    assert path.read_text() == before


def test_register_json_without_save_prints_both(tmp_path, fake):
    result = run("register", "--cluster-name", "red", "--nodes-json", UPSTREAM / "cluster-nodes.json",
                 "--secret", "reg", "--json", "--config-path", tmp_path / "none.yaml", "--host", fake.address)
    assert json.loads(result.stdout) == {"status": "REGISTER_SUCCESS", "cluster": "red", "token": "tok",
                                         "secret": "sec", "saved": None}
    assert not (tmp_path / "none.yaml").exists()


def test_register_existing_name_fails(tmp_path, fake):
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
    assert fake.scheduler.requests == []


def test_register_subsystem_uses_cluster_secret(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": "cs", "token": "t"})
    result = run("register", "subsystem", "--subsystem", "io", "--nodes-json", UPSTREAM / "cluster-io-subsystem.json",
                 "--config-path", path, "--host", fake.address, "--json")
    assert json.loads(result.stdout) == {"status": "REGISTER_SUCCESS", "cluster": "red", "subsystem": "io"}
    sent = fake.scheduler.requests[-1]
    assert (sent.name, sent.secret, sent.subsystem) == ("red", "cs", "io")


# -- precedence -------------------------------------------------------------------------------------------------
def test_flags_over_environment_over_file(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", cluster={"name": "file", "secret": "s-file", "token": ""},
                        host=DEAD)
    state = UPSTREAM / "cluster-state.json"
    env = {"RAINBOW_CLUSTER_NAME": "env", "RAINBOW_HOST": fake.address, "RAINBOW_CONFIG": str(path)}

    assert run("update-state", "--state-file", state, env=env).exit_code == 0
    assert (fake.scheduler.requests[-1].cluster, fake.scheduler.requests[-1].secret) == ("env", "s-file")

    result = run("update-state", "--state-file", state, "--cluster-name", "flag", "--cluster-secret", "s-flag",
                 env=env)
    assert result.exit_code == 0, result.output
    assert (fake.scheduler.requests[-1].cluster, fake.scheduler.requests[-1].secret) == ("flag", "s-flag")

    # The file's host is dead: only the environment's address reaches the server, and a flag beats both.
    assert "UNAVAILABLE" in failed_one_line(run("update-state", "--state-file", state, "--config-path", path,
                                                "--timeout", "3"))
    assert run("update-state", "--state-file", state, "--host", fake.address, "--config-path", path,
               env={"RAINBOW_HOST": DEAD}).exit_code == 0


def test_upstream_config_address_key_is_used(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": "cs", "token": ""},
                        graphdatabase={"name": "memory", "options": {"host": fake.address}})
    assert run("delete", "--config-path", path).exit_code == 0
    assert fake.scheduler.requests[-1].name == "red"


# -- update-state -----------------------------------------------------------------------------------------------
def test_update_state_file_and_values(tmp_path, fake):
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": "cs", "token": ""})
    result = run("update-state", "--state-file", UPSTREAM / "cluster-state.json", "--set", "nodes_free=7",
                 "--set", "zone=west", "--config-path", path, "--host", fake.address, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(fake.scheduler.requests[-1].payload)
    expected = json.loads((UPSTREAM / "cluster-state.json").read_text()) | {"nodes_free": 7, "zone": "west"}
    assert payload == expected == json.loads(result.stdout)["state"]


def test_update_state_rejects_non_object_file_locally(tmp_path, fake):
    bad = tmp_path / "state.json"
    bad.write_text("[1, 2]")
    path = write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": "cs", "token": ""})
    line = failed_one_line(run("update-state", "--state-file", bad, "--config-path", path, "--host", fake.address))
    assert "must hold a JSON object" in line
    assert fake.scheduler.requests == []


# -- submit -----------------------------------------------------------------------------------------------------
def _user_config(tmp_path: Path, **extra) -> Path:
    return write_config(tmp_path / "c.yaml", clusters=[{"name": "red", "token": "t1"}, {"name": "blue", "token": "t2"}],
                        **extra)


def test_submit_simple_command(tmp_path, fake):
    path = _user_config(tmp_path)
    result = run("submit", "--nodes", "2", "--tasks", "24", "--config-path", path, "--host", fake.address,
                 "--", "lmp", "-in", "in.lj")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "submitted job 7 to cluster red"
    sent = fake.scheduler.requests[-1]
    assert [(c.name, c.token) for c in sent.clusters] == [("red", "t1"), ("blue", "t2")]
    jobspec = json.loads(sent.jobspec)
    assert jobspec["resources"]["compute"] == {"type": "node", "replicas": 2,
                                               "with": [{"type": "core", "count": 12}]}
    assert jobspec["tasks"][0]["command"] == ["lmp", "-in", "in.lj"]
    assert sent.name == "lmp" and sent.select_algorithm == "random" and not sent.satisfy_only


def test_submit_jobspec_file_goes_as_written(tmp_path, fake):
    path = _user_config(tmp_path)
    spec = UPSTREAM / "jobspec-constraint.yaml"
    result = run("submit", "--jobspec", spec, "--cluster", "blue", "--cluster", "green=t3", "--config-path", path,
                 "--host", fake.address, "--json")
    assert json.loads(result.stdout) == {"status": "SUBMIT_SUCCESS", "jobid": 7, "cluster": "red",
                                         "clusters": ["red"], "reasons": {"blue": "too small"}}
    sent = fake.scheduler.requests[-1]
    assert sent.jobspec == spec.read_text()
    assert [(c.name, c.token) for c in sent.clusters] == [("blue", "t2"), ("green", "t3")]


def test_submit_artifact_folds_requirements(tmp_path, fake):
    path = _user_config(tmp_path)
    artifact = UPSTREAM / "artifact-lammps.json"
    result = run("submit", "--nodes", "1", "--artifact", artifact, "--config-path", path, "--host", fake.address,
                 "--", "lmp")
    assert result.exit_code == 0, result.output
    requires = json.loads(fake.scheduler.requests[-1].jobspec)["requires"]
    assert requires and "io.archspec" in requires
    assert "cpu.vendor" not in requires["io.archspec"] and "cpu.model" not in requires["io.archspec"]
    run("submit", "--nodes", "1", "--artifact", artifact, "--strict", "--config-path", path, "--host", fake.address,
        "--", "lmp")
    strict = json.loads(fake.scheduler.requests[-1].jobspec)["requires"]["io.archspec"]
    assert "cpu.vendor" in strict or "cpu.model" in strict


def test_submit_selection_from_config_and_flags(tmp_path, fake):
    priorities = (UPSTREAM / "rainbow-selection-config.yaml").read_text()
    options = yaml.safe_load(priorities)["scheduler"]["algorithms"]["selection"]["options"]
    scheduler = rconfig.default_config()["scheduler"]
    scheduler["algorithms"]["selection"] = {"name": "constraint", "options": options}
    path = _user_config(tmp_path, scheduler=scheduler)
    run("submit", "--nodes", "1", "--satisfy-only", "--explain", "--select-option", "extra=1", "--config-path", path,
        "--host", fake.address, "--", "true")
    sent = fake.scheduler.requests[-1]
    assert sent.select_algorithm == "constraint" and sent.satisfy_only
    assert dict(sent.select_options) == {"priorities": options["priorities"], "extra": "1"}
    # Another algorithm on the command line does not inherit the config's options for constraint.
    run("submit", "--nodes", "1", "--select-algorithm", "random", "--config-path", path, "--host", fake.address,
        "--", "true")
    sent = fake.scheduler.requests[-1]
    assert sent.select_algorithm == "random" and dict(sent.select_options) == {}


def test_submit_explain_prints_each_cluster(tmp_path, fake):
    path = _user_config(tmp_path)
    result = run("submit", "--nodes", "1", "--explain", "--config-path", path, "--host", fake.address, "--", "true")
    assert result.stdout.splitlines() == ["submitted job 7 to cluster red", "  red: selected", "  blue: too small"]
    satisfy = run("submit", "--nodes", "1", "--satisfy-only", "--config-path", path, "--host", fake.address,
                  "--", "true")
    assert satisfy.stdout.strip() == "clusters that fit: red"


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
    path = _user_config(tmp_path)
    line = failed_one_line(run("submit", *args, "--config-path", path, "--host", fake.address), 2)
    assert words in line
    assert fake.scheduler.requests == []


def test_submit_bad_jobspec_is_one_line(tmp_path, fake):
    bad = tmp_path / "job.yaml"
    bad.write_text("version: 1\nresources: [unclosed\n")
    line = failed_one_line(run("submit", "--jobspec", bad, "--config-path", _user_config(tmp_path),
                               "--host", fake.address))
    assert "jobspec" in line
    assert fake.scheduler.requests == []


def test_submit_without_clusters(tmp_path, fake):
    line = failed_one_line(run("submit", "--nodes", "1", "--config-path", tmp_path / "none.yaml",
                               "--host", fake.address, "--", "true"), 2)
    assert "no clusters to submit to" in line


# -- receive, accept, jobs, delete ------------------------------------------------------------------------------
@pytest.fixture
def cluster_config(tmp_path):
    return write_config(tmp_path / "c.yaml", cluster={"name": "red", "secret": "cs", "token": "t"})


def test_receive_lists_in_order_and_accepts(cluster_config, fake):
    result = run("receive", "--max-jobs", "3", "--config-path", cluster_config, "--host", fake.address)
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["3", "4", "9"]
    assert fake.scheduler.requests[-1].maxJobs == 3

    # The fake answers PARTIAL: the command prints what it got and fails on one line.
    taken = run("receive", "--accept", "2", "--json", "--config-path", cluster_config, "--host", fake.address)
    assert taken.exit_code == 1
    data = json.loads(taken.stdout)
    assert data["accepted"] == [3, 4] and data["accept_status"] == "RESULT_TYPE_PARTIAL"
    assert list(fake.scheduler.requests[-1].jobids) == [3, 4]
    assert "not every job was accepted" in taken.stderr


def test_accept_partial_fails(cluster_config, fake):
    line = failed_one_line(run("accept", "5", "6", "--config-path", cluster_config, "--host", fake.address))
    assert "RESULT_TYPE_PARTIAL" in line
    assert list(fake.scheduler.requests[-1].jobids) == [5, 6]


def test_jobs_follows_pages(cluster_config, fake):
    result = run("jobs", "--page-size", "2", "--json", "--config-path", cluster_config, "--host", fake.address)
    data = json.loads(result.stdout)
    assert [job["id"] for job in data["jobs"]] == [1, 2, 3, 4, 5]
    text = run("jobs", "--config-path", cluster_config, "--host", fake.address).stdout.splitlines()
    assert text[0].split("\t") == ["ID", "STATE", "SUBMITTED", "ACCEPTED", "NAME"]
    assert text[1].split("\t")[:2] == ["1", "accepted"] and len(text) == 6


def test_delete_cluster_and_subsystem(cluster_config, fake):
    result = run("delete", "--config-path", cluster_config, "--host", fake.address)
    assert result.stdout.strip() == "deleted cluster red"
    line = failed_one_line(run("delete", "--subsystem", "io", "--config-path", cluster_config,
                               "--host", fake.address))
    assert line.endswith("subsystem io of cluster red does not exist")
    assert fake.scheduler.requests[-1].subsytem == "io"


def test_server_errors_are_one_line(cluster_config, fake):
    import grpc

    fake.scheduler.abort_with = (grpc.StatusCode.PERMISSION_DENIED, "cluster red:\nsecret is not valid")
    line = failed_one_line(run("receive", "--config-path", cluster_config, "--host", fake.address))
    assert line == "Error: PERMISSION_DENIED: cluster red: secret is not valid"


def test_tls_settings_from_environment_are_checked(cluster_config, fake, tmp_path):
    line = failed_one_line(run("receive", "--config-path", cluster_config, "--host", fake.address,
                               env={"RAINBOW_TLS_CA": str(tmp_path / "missing-ca.pem")}))
    assert "missing-ca.pem" in line
