"""One server for all the example tests (each test registers its own cluster, so they cannot see each other's jobs)."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from rainbow.client import RainbowClient
from serverutil import start_server

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"
_names = itertools.count(1)


@pytest.fixture(scope="package")
def examples_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("examples-server"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fresh_cluster(examples_server):
    """cluster-nodes.json with its io subsystem, registered under a new name: (address, {cluster, token, secret})."""
    name = f"keebler-{next(_names)}"
    with RainbowClient(examples_server.address) as client:
        result = client.register(name, examples_server.secret, (DATA / "cluster-nodes.json").read_text())
        assert result.status == "REGISTER_SUCCESS"
        subsystem = json.loads((DATA / "cluster-io-subsystem.json").read_text())
        assert client.register_subsystem(name, result.secret, "io", subsystem) == "REGISTER_SUCCESS"
    return examples_server.address, {"cluster": name, "token": result.token, "secret": result.secret}
