"""A server address as users write it (HOST, HOST:PORT, [IPv6]:PORT) made into what gRPC dials."""
from __future__ import annotations

DEFAULT_PORT = 50051

DEFAULT_ADDRESS = f"127.0.0.1:{DEFAULT_PORT}"

_SCHEMES = ("unix:", "unix-abstract:", "vsock:", "ipv4:", "ipv6:", "dns:")


def with_default_port(address: str) -> str:
    """`address` with the rainbow port added when it names none (gRPC alone would dial 443, the HTTPS port).

    A gRPC target with a scheme (dns:, unix:, ipv4:...) is left as written.
    """
    address = address.strip()
    if not address or "://" in address or address.startswith(_SCHEMES):
        return address
    if address.startswith("["):  # [IPv6] or [IPv6]:port
        return address if "]:" in address else f"{address}:{DEFAULT_PORT}"
    colons = address.count(":")
    if colons == 0:
        return f"{address}:{DEFAULT_PORT}"
    if colons > 1:  # a bare IPv6 address
        return f"[{address}]:{DEFAULT_PORT}"
    return address
