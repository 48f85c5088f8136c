"""One settings layer: every command (serve and the pollers too) takes a setting from the flag, else its RAINBOW_*
variable, else the config file, else the default, and --help says where each comes from."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from rainbow import config as rconfig
from rainbow.cli import COMMANDS, main
from rainbow.cli.settings import config_path_option, setting
from rainbow.client import RainbowClient

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = REPO / "tests" / "data" / "upstream"
_LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"


@pytest.fixture(autouse=True)
def _no_rainbow_environment(monkeypatch):
    for key in [k for k in os.environ if k.startswith("RAINBOW_")]:
        monkeypatch.delenv(key)


@click.command()
@setting("--cluster-name", config_key="cluster.name", default="from-default")
@config_path_option
def show_name(cluster_name: str, config_path: str) -> None:
    click.echo(cluster_name)


@pytest.mark.parametrize("flag, env, on_file, expected", [
    ("flag", "env", "file", "flag"),
    (None, "env", "file", "env"),
    (None, None, "file", "file"),
    (None, None, None, "from-default"),
])
def test_flag_then_environment_then_file_then_default(tmp_path, flag, env, on_file, expected):
    config = tmp_path / "rainbow-config.yaml"
    if on_file:
        config.write_text(yaml.safe_dump({"cluster": {"name": on_file}}))
    args = ["--config-path", str(config)] + (["--cluster-name", flag] if flag else [])
    result = CliRunner().invoke(show_name, args, env={"RAINBOW_CLUSTER_NAME": env} if env else {})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == expected


def test_config_file_from_environment_and_working_folder(tmp_path, monkeypatch):
    named = tmp_path / "named.yaml"
    named.write_text(yaml.safe_dump({"cluster": {"name": "named"}}))
    (tmp_path / "rainbow-config.yaml").write_text(yaml.safe_dump({"cluster": {"name": "here"}}))
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(show_name, []).output.strip() == "here"
    assert CliRunner().invoke(show_name, [], env={"RAINBOW_CONFIG": str(named)}).output.strip() == "named"


def _help(*command: str) -> str:
    result = CliRunner().invoke(main, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


# The demo starts its own server in a folder of its own: it reads no settings; `db` works on the store named by its
# --db (or RAINBOW_DB) alone.
# `admin` and `bids` are groups of commands: their commands have the settings.
SETTLED = [c for c in COMMANDS if c not in ("config", "demo", "db", "admin", "bids")]
ADMIN = ["admin user add", "admin user list", "admin group add", "admin grant", "admin audit"]
BIDS = ["bids list", "bids answer", "bids show"]


@pytest.mark.parametrize("command", SETTLED + ["config show", "register subsystem"] + ADMIN + BIDS)
def test_help_shows_config_path_and_variables(command):
    text = _help(*command.split())
    assert "--config-path" in text and "env var: RAINBOW_CONFIG" in text
    if command != "config show":  # every other command has settings of its own
        assert "env var: RAINBOW_" in text.replace("env var: RAINBOW_CONFIG", "")


def test_no_hand_typed_variables_in_help():
    for command in SETTLED + ADMIN + ["config show", "register subsystem", "config init", "demo", "db"]:
        assert "env: RAINBOW" not in _help(*command.split()), command


def test_serve_help_names_its_settings():
    text = " ".join(_help("serve").split())
    assert "--config-path FILE" in text and "env var: RAINBOW_CONFIG" in text
    assert "[config: scheduler.secret; env var: RAINBOW_SECRET]" in text


def _serve_in(folder: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`rainbow serve` that exits at once (a bad --port), to see which settings it read."""
    return subprocess.run([sys.executable, "-c", _LAUNCH, "serve", "--db", str(folder / "x.db"), *args],
                          capture_output=True, text=True, timeout=60, cwd=folder,
                          env={k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")} | (env or {}))


def test_serve_reads_the_config_file_in_the_working_folder(server_factory, tmp_path):
    server_dir = tmp_path / "server0"
    server_dir.mkdir()
    (server_dir / "rainbow-config.yaml").write_text(yaml.safe_dump({"scheduler": {"secret": "from-the-file"}}))
    server = server_factory(secret=None)
    assert "registration secret" not in server.stdout()
    with RainbowClient(server.address, timeout=10) as client:
        graph = (UPSTREAM / "cluster-nodes.json").read_text()
        assert client.register("red", "from-the-file", graph).status == "REGISTER_SUCCESS"


def test_serve_config_path_from_environment_is_checked(tmp_path):
    done = _serve_in(tmp_path, "--port", "0", env={"RAINBOW_CONFIG": str(tmp_path / "missing.yaml")})
    assert done.returncode == 1 and "missing.yaml: no such file" in done.stderr


def test_serve_takes_no_other_config_flag(tmp_path):
    done = _serve_in(tmp_path, "--config", "x.yaml", "--port", "0")
    assert done.returncode == 2 and "Did you mean '--config-path'?" in done.stderr


# -- the server address ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("written, dialled", [
    ("localhost", "localhost:50051"),
    ("localhost:7000", "localhost:7000"),
    ("10.0.0.1", "10.0.0.1:50051"),
    ("[::1]", "[::1]:50051"),
    ("[::1]:7000", "[::1]:7000"),
    ("::1", "[::1]:50051"),
    ("dns:///rainbow.example:443", "dns:///rainbow.example:443"),
    ("unix:/run/rainbow.sock", "unix:/run/rainbow.sock"),
])
def test_address_without_port_gets_the_rainbow_port(written, dialled):
    with RainbowClient(written) as client:
        assert client.address == dialled


def test_host_without_port_from_flag_file_and_environment(tmp_path):
    config = tmp_path / "rainbow-config.yaml"
    config.write_text("host: rainbow.example\n")
    shown = CliRunner().invoke(main, ["config", "show", "--config-path", str(config)])
    assert "server address rainbow.example:50051" in shown.output


def test_register_save_stores_the_host_used(rainbow_server, tmp_path):
    config = tmp_path / "cluster.yaml"
    result = CliRunner().invoke(main, ["register", "--config-path", str(config), "--host", rainbow_server.address,
                                       "--cluster-name", "red", "--secret", rainbow_server.secret,
                                       "--nodes-json", str(UPSTREAM / "cluster-nodes.json"), "--save"])
    assert result.exit_code == 0, result.output
    saved = rconfig.load_config(config)
    assert rconfig.server_address(saved) == rainbow_server.address
    assert saved["graphdatabase"]["options"]["host"] == rainbow_server.address  # upstream's Python client reads it
    # A later command with only the file reaches the same server.
    received = CliRunner().invoke(main, ["receive", "--config-path", str(config)])
    assert received.exit_code == 0, received.output
    assert received.output.strip() == "no jobs queued for cluster red"


def test_poller_help_names_its_settings():
    done = subprocess.run([sys.executable, str(REPO / "examples" / "flux_poller.py"), "-h"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "--config-path" in text and "env var: RAINBOW_CLUSTER_SECRET" in text
