"""The CLI tests' server: a real scheduler over a SQLite store in a temporary folder, reached in-process through
the client's in-process transport (no socket), so they check the commands' own behaviour against real answers."""
from __future__ import annotations

from pathlib import Path

import pytest

from rainbow.cli.common import CLIENT_FACTORY
from rainbow.client import RainbowClient
from rainbow.server.inprocess import InProcessTransport

UPSTREAM = Path(__file__).resolve().parents[1] / "data" / "upstream"
ADDRESS = "rainbow.test:50051"
REGISTRATION_SECRET = "reg"


class World:
    """One scheduler for one test: `address` is the host the commands reach it by; `sent` what they sent."""

    address = ADDRESS
    secret = REGISTRATION_SECRET

    def __init__(self, transport: InProcessTransport) -> None:
        self.transport = transport

    @property
    def sent(self) -> list:
        return [request for _, request in self.transport.calls]

    def forget(self) -> None:
        self.transport.calls.clear()

    def client(self) -> RainbowClient:
        return RainbowClient(ADDRESS, transport=self.transport)

    def register(self, name: str, graph: Path = UPSTREAM / "cluster-nodes.json"):
        """Register a cluster directly (not through a command); what it sent is forgotten."""
        result = self.client().register(name, REGISTRATION_SECRET, graph.read_text())
        self.forget()
        return result

    def client_factory(self, settings):
        """Plain connections to ADDRESS stay in this process; anything else (another host, TLS) goes the usual way."""
        tls = any(settings.get(key) for key in ("tls.ca", "tls.cert", "tls.key"))
        if settings.address != ADDRESS or tls:
            return None
        return RainbowClient(ADDRESS, transport=self.transport, timeout=settings.timeout)

    @property
    def obj(self) -> dict:
        return {CLIENT_FACTORY: self.client_factory}


@pytest.fixture
def world(tmp_path_factory) -> World:
    folder = tmp_path_factory.mktemp("rainbow-store")
    transport = InProcessTransport.over_sqlite(folder, registration_secret=REGISTRATION_SECRET)
    yield World(transport)
    transport.scheduler.store.close()
