"""A scripted in-process rainbow server for client and CLI tests: it records every request and answers from a
script, so tests can check what went on the wire without the real server."""
from __future__ import annotations

import json
from concurrent import futures

import grpc
from google.protobuf import timestamp_pb2

from rainbow.protos import jobs_pb2, jobs_pb2_grpc, memory_pb2, memory_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc


class Scheduler(rainbow_pb2_grpc.RainbowSchedulerServicer):
    def __init__(self) -> None:
        self.requests: list = []
        self.abort_with: tuple[grpc.StatusCode, str] | None = None

    def _seen(self, request, context):
        self.requests.append(request)
        if self.abort_with:
            context.abort(*self.abort_with)

    def Register(self, request, context):
        self._seen(request, context)
        if request.name == "exists":
            return rainbow_pb2.RegisterResponse(status=rainbow_pb2.RegisterResponse.REGISTER_EXISTS)
        return rainbow_pb2.RegisterResponse(token="tok", secret="sec",
                                            status=rainbow_pb2.RegisterResponse.REGISTER_SUCCESS)

    def RegisterSubsystem(self, request, context):
        self._seen(request, context)
        return rainbow_pb2.RegisterResponse(status=rainbow_pb2.RegisterResponse.REGISTER_SUCCESS)

    def Delete(self, request, context):
        self._seen(request, context)
        return rainbow_pb2.DeleteResponse(status=rainbow_pb2.DeleteResponse.DELETE_SUCCESS)

    def DeleteSubsystem(self, request, context):
        self._seen(request, context)
        return rainbow_pb2.DeleteResponse(status=rainbow_pb2.DeleteResponse.DELETE_NO_EXISTS)

    def UpdateState(self, request, context):
        self._seen(request, context)
        return rainbow_pb2.UpdateStateResponse(status=rainbow_pb2.UpdateStateResponse.UPDATE_STATE_SUCCESS)

    def SubmitJob(self, request, context):
        self._seen(request, context)
        return rainbow_pb2.SubmitJobResponse(jobid=7, cluster="red", clusters=["red"], reasons={"blue": "too small"},
                                             status=rainbow_pb2.SubmitJobResponse.SUBMIT_SUCCESS)

    def ReceiveJobs(self, request, context):
        self._seen(request, context)
        jobs = {
            9: json.dumps({"id": 9, "cluster": "red", "name": "b", "jobspec": "version: 1", "command": "", "x": 1}),
            3: json.dumps({"id": 3, "cluster": "red", "name": "a", "jobspec": "{}", "command": "hostname"}),
            4: "not json",
        }
        return rainbow_pb2.ReceiveJobsResponse(jobs=jobs, status=rainbow_pb2.ReceiveJobsResponse.REQUEST_JOBS_SUCCESS)

    def AcceptJobs(self, request, context):
        self._seen(request, context)
        return rainbow_pb2.AcceptJobsResponse(status=rainbow_pb2.AcceptJobsResponse.RESULT_TYPE_PARTIAL)


class Graph(memory_pb2_grpc.MemoryGraphServicer):
    def __init__(self) -> None:
        self.requests: list = []

    def Satisfy(self, request, context):
        self.requests.append(request)
        return memory_pb2.SatisfyResponse(clusters=["red"], reasons={"blue": "needs 4 nodes"}, total_clusters=2,
                                          total_matches=1, total_mismatches=1,
                                          status=memory_pb2.SatisfyResponse.RESULT_TYPE_SUCCESS)


class Jobs(jobs_pb2_grpc.RainbowJobsServicer):
    """Pages of two over ids 1..5, the way the server pages."""

    def ListJobs(self, request, context):
        ids = [i for i in range(1, 6) if i > request.after_id][:2]
        jobs = []
        for i in ids:
            job = jobs_pb2.JobInfo(id=i, cluster=request.cluster, name=f"j{i}", jobspec="{}",
                                   state="accepted" if i == 1 else "pending",
                                   submitted=timestamp_pb2.Timestamp(seconds=1_700_000_000))
            if i == 1:
                job.accepted.CopyFrom(timestamp_pb2.Timestamp(seconds=1_700_000_060))
            jobs.append(job)
        next_after = ids[-1] if ids and ids[-1] < 5 else 0
        return jobs_pb2.ListJobsResponse(jobs=jobs, next_after_id=next_after)


class FakeServer:
    """The three services on a free loopback port; `.scheduler` and `.graph` hold the requests seen."""

    def __init__(self) -> None:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.scheduler, self.graph = Scheduler(), Graph()
        rainbow_pb2_grpc.add_RainbowSchedulerServicer_to_server(self.scheduler, self.server)
        memory_pb2_grpc.add_MemoryGraphServicer_to_server(self.graph, self.server)
        jobs_pb2_grpc.add_RainbowJobsServicer_to_server(Jobs(), self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def reset(self) -> None:
        self.scheduler.requests.clear()
        self.scheduler.abort_with = None
        self.graph.requests.clear()

    def stop(self) -> None:
        self.server.stop(None)
