from __future__ import annotations

import pytest

from rainbow.client import RainbowClient

from .agentutil import AgentProcess


@pytest.fixture(scope="session")
def slurm():
    """One throw-away single-node Slurm for the whole run (tests/slurmutil.py); skipped when Slurm is absent."""
    from slurmutil import missing, start_slurm

    why = missing()
    if why:
        pytest.skip(why)
    cluster = start_slurm()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def client(rainbow_server):
    with RainbowClient(rainbow_server.address, timeout=30) as c:
        yield c


@pytest.fixture
def agents(tmp_path, rainbow_server):
    """Make agents against the test's server: `agents(cluster, secret, manager, env=..., extra=[...])`; every one
    is stopped afterwards."""
    made: list[AgentProcess] = []

    def make(cluster: str, secret: str, manager: str, **kwargs) -> AgentProcess:
        agent = AgentProcess(tmp_path / f"agent-{cluster}-{len(made)}", rainbow_server.address, cluster, secret,
                             manager, **kwargs)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.stop()
