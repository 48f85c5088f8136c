"""`rainbow serve` itself: its secret, its config file, and one-line errors for bad options."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rainbow.client import PermissionDenied, RainbowClient
from rainbow.jobspec import simple_jobspec

from .e2e_util import data_text

LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"
SMALL_JOB = json.dumps(simple_jobspec(1, 1, ["true"]))


def _serve(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LAUNCH, "serve", "--db", str(tmp_path / "x.db"), *args],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_generated_secret_is_printed_once_and_works(server_factory):
    server = server_factory(secret=None)
    out = server.stdout()
    assert out.count("registration secret") == 1 and server.secret and server.secret in out
    assert server.secret not in server.stderr()  # never logged
    with RainbowClient(server.address, timeout=10) as client:
        with pytest.raises(PermissionDenied):
            client.register("red", "test-registration-secret", data_text("cluster-nodes.json"))
        assert client.register("red", server.secret, data_text("cluster-nodes.json")).status == "REGISTER_SUCCESS"


def test_secret_from_config_file(server_factory, tmp_path):
    config = tmp_path / "rainbow-config.yaml"
    config.write_text(data_text("rainbow-config.yaml"))
    server = server_factory(secret=None, extra_args=["--config-path", str(config)])
    assert "registration secret" not in server.stdout()
    with RainbowClient(server.address, timeout=10) as client:
        result = client.register("keebler", "chocolate-cookies", data_text("cluster-nodes.json"))
        assert result.status == "REGISTER_SUCCESS"


def test_port_in_use_is_a_one_line_error(rainbow_server, tmp_path):
    result = _serve(tmp_path, "--port", str(rainbow_server.port), "--secret", "s")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot listen" in lines[0] and "Traceback" not in result.stderr


BAD_SELECTION = "scheduler:\n  algorithms:\n    selection:\n      name: fastest\n"


@pytest.mark.parametrize("args, says", [
    (["--config-path", "bad-selection.yaml"], "fastest"),
    (["--tls-cert", "server.crt"], "--tls-key"),
    (["--tls-ca", "ca.crt"], "--tls-cert"),
    (["--tls-cert", "missing.crt", "--tls-key", "missing.key"], "cannot read TLS certificate"),
    (["--config-path", "missing.yaml"], "no such file"),
    (["--port", "70000"], "70000"),
    (["--db", "no-such-dir/x.db"], "cannot open the store"),
])
def test_bad_options(tmp_path, args, says):
    (tmp_path / "bad-selection.yaml").write_text(BAD_SELECTION)
    result = _serve(tmp_path, "--port", "0", "--secret", "s", *args) if "--port" not in args else \
        _serve(tmp_path, "--secret", "s", *args)
    assert result.returncode != 0
    assert says in result.stderr and "Traceback" not in result.stderr


def test_selection_from_config_file(server_factory, tmp_path):
    config = tmp_path / "rainbow-selection-config.yaml"
    config.write_text(data_text("rainbow-selection-config.yaml"))
    server = server_factory(secret=None, extra_args=["--config-path", str(config)])
    graph = data_text("cluster-nodes.json")
    with RainbowClient(server.address, timeout=10) as client:
        red = client.register("red", "chocolate-cookies", graph)
        blue = client.register("blue", "chocolate-cookies", graph)
        client.update_state("red", red.secret, {"nodes_free": 0, "cost_per_node_hour": 1, "memory_per_node": 100})
        client.update_state("blue", blue.secret, {"nodes_free": 4, "cost_per_node_hour": 1, "memory_per_node": 100})
        tokens = [("red", red.token), ("blue", blue.token)]
        # No algorithm, or the configured one, in the request: the configured priorities pick the cluster with free nodes.
        for algorithm in ("", "constraint", ""):
            assert client.submit(data_text("jobspec-constraint.yaml"), tokens,
                                 select_algorithm=algorithm).cluster == "blue"


def test_global_token_is_opt_in(server_factory, rainbow_server):
    graph = data_text("cluster-nodes.json")
    shared = server_factory(extra_args=["--global-token", "everyone"])
    with RainbowClient(shared.address, timeout=10) as client:
        red = client.register("red", shared.secret, graph)
        blue = client.register("blue", shared.secret, graph)
        assert red.token == blue.token == "everyone" and red.secret != blue.secret
        assert client.submit(SMALL_JOB, [("red", "everyone"), ("blue", "everyone")]).jobid > 0
    # Off by default: every cluster gets its own random token.
    with RainbowClient(rainbow_server.address, timeout=10) as client:
        red = client.register("red", rainbow_server.secret, graph)
        blue = client.register("blue", rainbow_server.secret, graph)
        assert red.token != blue.token and len(red.token) >= 32
        with pytest.raises(PermissionDenied):
            client.submit(SMALL_JOB, [("red", blue.token)])
