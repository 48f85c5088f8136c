"""The failures the scheduler reports, each tied to the gRPC status code a client sees.

The scheduler raises these with a one-line message; the servicers turn them into the gRPC status of the same name,
so the scheduler itself never imports grpc.
"""
from __future__ import annotations


class ServiceError(Exception):
    code = "INTERNAL"


class InvalidArgument(ServiceError):
    code = "INVALID_ARGUMENT"


class PermissionDenied(ServiceError):
    code = "PERMISSION_DENIED"


class NotFound(ServiceError):
    code = "NOT_FOUND"


class FailedPrecondition(ServiceError):
    code = "FAILED_PRECONDITION"

