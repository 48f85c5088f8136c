"""TLS files checked before gRPC sees them.

Given a JSON file as a certificate, gRPC's C core logs several lines of its own and the server then reports that it
cannot listen; a client fails only at its first call. Reading the files here first lets every command say which
file is wrong, in one line that names the option: `--tls-cert FILE: not a PEM certificate`.
Python's ssl module does the checking (it parses PEM the way OpenSSL does), so no extra dependency is needed.
"""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path


class TLSFileError(ValueError):
    """A TLS file is missing, unreadable or not what its option needs; the message names the option and file."""


@dataclass(frozen=True)
class TLSMaterial:
    """The bytes gRPC is given, each checked: certificate chain, its private key, and the CA bundle."""

    cert: bytes | None = None
    key: bytes | None = None
    ca: bytes | None = None


def _read(path: str, flag: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TLSFileError(f"{flag} {path}: cannot read TLS {what}: {exc.strerror or exc}") from None


def _check_certificates(data: bytes, path: str, flag: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(cadata=data.decode("ascii"))
    except (UnicodeDecodeError, ssl.SSLError, ValueError):
        raise TLSFileError(f"{flag} {path}: not a PEM certificate") from None


def _check_key(cert_path: str, key_path: str, key: bytes, cert_flag: str, key_flag: str) -> None:
    if b"-----BEGIN" not in key or b"PRIVATE KEY-----" not in key:
        raise TLSFileError(f"{key_flag} {key_path}: not a PEM private key")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_path, key_path, password=lambda: b"")
    except (ssl.SSLError, ValueError, OSError):
        raise TLSFileError(f"{key_flag} {key_path}: not the (unencrypted) private key of {cert_flag} {cert_path}") \
            from None


def load_tls(cert: str | None = None, key: str | None = None, ca: str | None = None, *,
             flags: tuple[str, str, str] = ("--tls-cert", "--tls-key", "--tls-ca")) -> TLSMaterial:
    """Read and check the TLS files given (a certificate needs its key); raise TLSFileError on the first bad one.

    `flags` names the options the files came from, for the message.
    """
    cert_flag, key_flag, ca_flag = flags
    if bool(cert) != bool(key):
        raise TLSFileError(f"{cert_flag} and {key_flag} go together")
    material: dict[str, bytes | None] = {"cert": None, "key": None, "ca": None}
    if cert and key:
        material["cert"] = _read(cert, cert_flag, "certificate")
        _check_certificates(material["cert"], cert, cert_flag)
        material["key"] = _read(key, key_flag, "key")
        _check_key(cert, key, material["key"], cert_flag, key_flag)
    if ca:
        material["ca"] = _read(ca, ca_flag, "CA")
        _check_certificates(material["ca"], ca, ca_flag)
    return TLSMaterial(**material)
