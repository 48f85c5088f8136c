"""The client retries the idempotent calls on UNAVAILABLE through gRPC's own retry policy, and only those.

The server here is a real gRPC server whose handlers answer UNAVAILABLE a set number of times before answering, so
the retries are gRPC's, seen from the server side.
"""
from __future__ import annotations

from concurrent import futures

import grpc
import pytest

from rainbow.client import RainbowClient, Unavailable
from rainbow.protos import jobs_pb2, jobs_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc


class Flaky(rainbow_pb2_grpc.RainbowSchedulerServicer, jobs_pb2_grpc.RainbowJobsServicer):
    """UNAVAILABLE for the first `failures` calls of each method, then an answer."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, int] = {}

    def _count(self, name: str, context) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.calls[name] <= self.failures:
            context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")

    def ReceiveJobs(self, request, context):
        self._count("ReceiveJobs", context)
        return rainbow_pb2.ReceiveJobsResponse()

    def ListJobs(self, request, context):
        self._count("ListJobs", context)
        return jobs_pb2.ListJobsResponse()

    def SubmitJob(self, request, context):
        self._count("SubmitJob", context)
        return rainbow_pb2.SubmitJobResponse()

    def AcceptJobs(self, request, context):
        self._count("AcceptJobs", context)
        return rainbow_pb2.AcceptJobsResponse()


@pytest.fixture
def flaky():
    servicer = Flaky(failures=2)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    rainbow_pb2_grpc.add_RainbowSchedulerServicer_to_server(servicer, server)
    jobs_pb2_grpc.add_RainbowJobsServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(None)


def test_reads_are_retried_on_unavailable(flaky):
    servicer, address = flaky
    with RainbowClient(address, timeout=20) as client:
        assert client.receive("red", "secret") == []
        assert client.list_jobs("red", "secret").jobs == []
    assert servicer.calls == {"ReceiveJobs": 3, "ListJobs": 3}


def test_calls_that_change_something_are_not_retried(flaky):
    servicer, address = flaky
    with RainbowClient(address, timeout=20) as client:
        with pytest.raises(Unavailable):
            client.submit("version: 1", [("red", "token")])
        with pytest.raises(Unavailable):
            client.accept("red", "secret", [1])
    assert servicer.calls == {"SubmitJob": 1, "AcceptJobs": 1}
