"""rainbow: a multi-cluster scheduler that matches jobs to the clusters that can run them."""
import os as _os

__version__ = "0.1.0"

# gRPC's C core writes its own log lines to stderr (bad TLS files, refused binds...), on top of the one line each
# command prints for every failure it expects. GRPC_VERBOSITY is read when the core starts, and every module that
# imports grpc is inside this package, so it is set here, before any of them; set it yourself to see those lines.
_os.environ.setdefault("GRPC_VERBOSITY", "NONE")
