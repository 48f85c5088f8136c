"""TLS and mutual TLS with certificates made for the test."""
from __future__ import annotations

import pytest

from rainbow.client import RainbowClient, Unavailable
from serverutil import DEFAULT_SECRET

from certs import TestCA
from .e2e_util import data_text


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = TestCA(directory)
    other = TestCA(directory / "other", name="stranger CA")
    return {
        "ca": ca.ca_path,
        "server": ca.issue("server", "localhost", server=True),
        "client": ca.issue("client", "cluster-red", server=False),
        "stranger": other.issue("stranger", "cluster-red", server=False),
    }


def _tls_args(pki, mutual: bool) -> list[str]:
    args = ["--tls-cert", pki["server"].cert, "--tls-key", pki["server"].key]
    return args + ["--tls-ca", pki["ca"]] if mutual else args


def test_tls(server_factory, pki):
    server = server_factory(extra_args=_tls_args(pki, mutual=False))
    with RainbowClient(server.address, tls_ca=pki["ca"], timeout=10) as client:
        assert client.health() == "SERVING"
        assert client.register("red", DEFAULT_SECRET, data_text("cluster-nodes.json")).status == "REGISTER_SUCCESS"
    with RainbowClient(server.address, tls_ca=pki["ca"], server_name="localhost", timeout=10) as client:
        assert client.health() == "SERVING"
    # A plaintext client cannot talk to a TLS server.
    with RainbowClient(server.address, timeout=5) as plain:
        with pytest.raises(Unavailable):
            plain.health()


def test_mutual_tls(server_factory, pki):
    server = server_factory(extra_args=_tls_args(pki, mutual=True))
    client_cert = pki["client"]
    with RainbowClient(server.address, tls_ca=pki["ca"], tls_cert=client_cert.cert, tls_key=client_cert.key,
                       timeout=10) as client:
        assert client.health() == "SERVING"
        assert client.register("red", DEFAULT_SECRET, data_text("cluster-nodes.json")).status == "REGISTER_SUCCESS"
    # Without a client certificate, or with one from another CA, the handshake fails.
    with RainbowClient(server.address, tls_ca=pki["ca"], timeout=5) as anonymous:
        with pytest.raises(Unavailable):
            anonymous.health()
    stranger = pki["stranger"]
    with RainbowClient(server.address, tls_ca=pki["ca"], tls_cert=stranger.cert, tls_key=stranger.key,
                       timeout=5) as client:
        with pytest.raises(Unavailable):
            client.health()
