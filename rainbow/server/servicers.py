"""The gRPC servicers: protobuf in, a Scheduler call, protobuf out; scheduler errors become gRPC statuses."""
from __future__ import annotations

import functools
import logging
import uuid
from operator import attrgetter

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from rainbow.protos import (access_pb2, access_pb2_grpc, bids_pb2, bids_pb2_grpc, jobs_pb2, jobs_pb2_grpc, memory_pb2,
                            memory_pb2_grpc, rainbow_pb2, rainbow_pb2_grpc)
from rainbow.server.access import Access
from rainbow.server.errors import InvalidArgument, PermissionDenied, ServiceError
from rainbow.server.scheduler import EXISTS, SUCCESS, Scheduler
from rainbow.server.overview import DEFAULT_ASSIGNMENTS, AssignmentView, build_overview, find_job
from rainbow.store import JobRecord, StoreError

log = logging.getLogger("rainbow.server")


def _rpc(method):
    """Run a servicer method; a ServiceError becomes its gRPC status, anything unexpected INTERNAL (logged)."""

    @functools.wraps(method)
    def wrapper(self, request, context: grpc.ServicerContext):
        try:
            return method(self, request, context)
        except ServiceError as exc:
            context.abort(getattr(grpc.StatusCode, exc.code), str(exc))
        except StoreError as exc:
            log.error("%s: store error: %s", method.__name__, exc)
            context.abort(grpc.StatusCode.UNAVAILABLE, f"store unavailable: {exc}")
        except Exception as exc:  # a bug: report it without leaking internals, and keep serving
            log.error("%s: internal error: %s: %s", method.__name__, type(exc).__name__,
                      " ".join(str(exc).split())[:300])
            log.debug("%s: traceback", method.__name__, exc_info=True)
            context.abort(grpc.StatusCode.INTERNAL, f"internal error ({type(exc).__name__})")

    return wrapper


_NAME_TOKEN = attrgetter("name", "token")


def _request_id() -> str:
    return uuid.uuid4().hex


class RainbowSchedulerServicer(rainbow_pb2_grpc.RainbowSchedulerServicer):
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    @_rpc
    def Register(self, request, context):
        outcome = self.scheduler.register(request.name, request.secret, request.nodes)
        status = (rainbow_pb2.RegisterResponse.REGISTER_SUCCESS if outcome.status == SUCCESS
                  else rainbow_pb2.RegisterResponse.REGISTER_EXISTS)
        return rainbow_pb2.RegisterResponse(request_id=_request_id(), token=outcome.token, secret=outcome.secret,
                                            status=status)

    @_rpc
    def RegisterSubsystem(self, request, context):
        outcome = self.scheduler.register_subsystem(request.name, request.secret, request.subsystem, request.nodes)
        status = (rainbow_pb2.RegisterResponse.REGISTER_SUCCESS if outcome == SUCCESS
                  else rainbow_pb2.RegisterResponse.REGISTER_EXISTS)
        return rainbow_pb2.RegisterResponse(request_id=_request_id(), status=status)

    @_rpc
    def Delete(self, request, context):
        outcome = self.scheduler.delete(request.name, request.secret)
        return rainbow_pb2.DeleteResponse(status=_delete_status(outcome))

    @_rpc
    def DeleteSubsystem(self, request, context):
        outcome = self.scheduler.delete_subsystem(request.name, request.secret, request.subsytem)
        return rainbow_pb2.DeleteResponse(status=_delete_status(outcome))

    @_rpc
    def UpdateState(self, request, context):
        self.scheduler.update_state(request.cluster, request.secret, request.payload)
        return rainbow_pb2.UpdateStateResponse(status=rainbow_pb2.UpdateStateResponse.UPDATE_STATE_SUCCESS)

    @_rpc
    def SubmitJob(self, request, context):
        outcome = self.scheduler.submit(
            request.jobspec, list(map(_NAME_TOKEN, request.clusters)), name=request.name,
            algorithm=request.select_algorithm, options=dict(request.select_options),
            satisfy_only=request.satisfy_only)
        return rainbow_pb2.SubmitJobResponse(request_id=_request_id(), jobid=outcome.jobid, cluster=outcome.cluster,
                                             status=rainbow_pb2.SubmitJobResponse.SUBMIT_SUCCESS,
                                             clusters=outcome.clusters, reasons=outcome.reasons)

    @_rpc
    def ReceiveJobs(self, request, context):
        jobs = self.scheduler.receive_texts(request.cluster, request.secret, request.maxJobs)
        status = (rainbow_pb2.ReceiveJobsResponse.REQUEST_JOBS_SUCCESS if jobs
                  else rainbow_pb2.ReceiveJobsResponse.REQUEST_JOBS_NORESULTS)
        return rainbow_pb2.ReceiveJobsResponse(request_id=_request_id(), status=status, jobs=dict(jobs))

    @_rpc
    def AcceptJobs(self, request, context):
        outcome = self.scheduler.accept(request.cluster, request.secret, list(request.jobids))
        status = (rainbow_pb2.AcceptJobsResponse.RESULT_TYPE_SUCCESS if outcome.complete
                  else rainbow_pb2.AcceptJobsResponse.RESULT_TYPE_PARTIAL)
        return rainbow_pb2.AcceptJobsResponse(status=status)


def _delete_status(outcome: str) -> int:
    return (rainbow_pb2.DeleteResponse.DELETE_SUCCESS if outcome == SUCCESS
            else rainbow_pb2.DeleteResponse.DELETE_NO_EXISTS)


class MemoryGraphServicer(memory_pb2_grpc.MemoryGraphServicer):
    """The graph service upstream clients call before SubmitJob: Satisfy answers, Register is refused."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    @_rpc
    def Satisfy(self, request, context):
        outcome = self.scheduler.satisfy(request.payload)
        matches = len(outcome.clusters)
        return memory_pb2.SatisfyResponse(clusters=outcome.clusters,
                                          status=memory_pb2.SatisfyResponse.RESULT_TYPE_SUCCESS,
                                          total_clusters=outcome.total_clusters, total_matches=matches,
                                          total_mismatches=outcome.total_clusters - matches,
                                          reasons=outcome.reasons)

    def Register(self, request, context):
        context.abort(grpc.StatusCode.PERMISSION_DENIED,
                      "MemoryGraph.Register is disabled: register clusters with RainbowScheduler.Register "
                      "and the registration secret")


def _timestamp(seconds: float | None) -> Timestamp | None:
    if seconds is None:
        return None
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def job_info(job: JobRecord, with_jobspec: bool = True) -> jobs_pb2.JobInfo:
    return jobs_pb2.JobInfo(id=job.id, cluster=job.cluster, name=job.name, state=job.state,
                            submitted=_timestamp(job.submitted), accepted=_timestamp(job.accepted),
                            jobspec=job.jobspec if with_jobspec else "", status=job.status, local_id=job.local_id,
                            exit_code=job.exit_code, reason=job.reason, updated=_timestamp(job.updated),
                            started=_timestamp(job.started), ended=_timestamp(job.ended),
                            cancel_requested=job.cancel_requested is not None, tried=list(job.tried))


class RainbowJobsServicer(jobs_pb2_grpc.RainbowJobsServicer):
    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler

    @_rpc
    def ListJobs(self, request, context):
        jobs, next_after = self.scheduler.list_jobs(request.cluster, request.secret, request.state,
                                                    request.after_id, request.limit, tokens=list(request.tokens),
                                                    job_id=request.id)
        return jobs_pb2.ListJobsResponse(jobs=[job_info(j) for j in jobs], next_after_id=next_after)

    @_rpc
    def ReportJob(self, request, context):
        outcome = self.scheduler.report_job(
            request.cluster, request.secret, request.id, request.status, local_id=request.local_id,
            exit_code=request.exit_code if request.HasField("exit_code") else None, reason=request.reason,
            requeue=request.requeue)
        return jobs_pb2.ReportJobResponse(job=job_info(outcome.job, False), requeued_to=outcome.requeued_to)

    @_rpc
    def CancelJob(self, request, context):
        outcome = self.scheduler.cancel_job(request.id, tokens=list(request.tokens), cluster=request.cluster,
                                            secret=request.secret)
        return jobs_pb2.CancelJobResponse(job=job_info(outcome.job, False), outcome=outcome.outcome)

    @_rpc
    def CancelRequests(self, request, context):
        jobs = self.scheduler.cancel_requests(request.cluster, request.secret)
        return jobs_pb2.CancelRequestsResponse(jobs=[job_info(j, False) for j in jobs])

    @_rpc
    def Status(self, request, context):
        if not self.scheduler.may_view(request.credential):
            raise PermissionDenied("credential is missing or not valid: give the viewer token, the registration "
                                   "secret or the admin token")
        if request.job_id < 0:
            raise InvalidArgument("job_id: must not be negative")
        count = DEFAULT_ASSIGNMENTS if request.assignments <= 0 else min(request.assignments, MAX_ASSIGNMENTS)
        view = build_overview(self.scheduler, count)
        response = jobs_pb2.StatusResponse(
            generated=_timestamp(view.generated),
            clusters=[jobs_pb2.ClusterStatus(name=c.name, nodes=c.nodes, cores=c.cores, gpus=c.gpus,
                                             subsystems=c.subsystems, registered=_timestamp(c.registered),
                                             last_report=_timestamp(c.last_report), state=c.state)
                      for c in view.clusters],
            jobs_by_state=view.jobs_by_state, oldest_pending=_timestamp(view.oldest_pending),
            assignments=[_assignment_info(a) for a in view.assignments])
        if request.job_id:
            job = find_job(self.scheduler, request.job_id)
            if job is not None:
                response.job.CopyFrom(jobs_pb2.JobStatus(
                    id=job.id, name=job.name, cluster=job.cluster, state=job.state,
                    submitted=_timestamp(job.submitted), accepted=_timestamp(job.accepted),
                    assignment=_assignment_info(job.assignment) if job.assignment is not None else None))
        return response


# The most assignments one Status call returns.
MAX_ASSIGNMENTS = 200


def _assignment_info(a: AssignmentView) -> jobs_pb2.AssignmentInfo:
    return jobs_pb2.AssignmentInfo(job=a.job, name=a.name, cluster=a.cluster, state=a.state, algorithm=a.algorithm,
                                   reason=a.reason, others=a.others, made=_timestamp(a.made))

_ANSWERS = {"recorded": bids_pb2.AnswerBidResponse.ANSWER_RECORDED,
            "answered": bids_pb2.AnswerBidResponse.ANSWER_ALREADY,
            "closed": bids_pb2.AnswerBidResponse.ANSWER_CLOSED,
            "unknown": bids_pb2.AnswerBidResponse.ANSWER_UNKNOWN}


def _optional(message, name: str) -> float | None:
    return getattr(message, name) if message.HasField(name) else None


class RainbowBidsServicer(bids_pb2_grpc.RainbowBidsServicer):
    def __init__(self, scheduler: Scheduler) -> None:
        self.bidding = scheduler.bidding

    @_rpc
    def OpenBids(self, request, context):
        found = self.bidding.requests(request.cluster, request.secret, request.limit)
        return bids_pb2.OpenBidsResponse(requests=[
            bids_pb2.BidRequest(job_id=r.job_id, name=r.name, jobspec=r.jobspec, closes=_timestamp(r.closes_at))
            for r in found])

    @_rpc
    def AnswerBid(self, request, context):
        outcome = self.bidding.answer(request.cluster, request.secret, request.job_id, request.will_run,
                                      _optional(request, "eta_seconds"), _optional(request, "cost"),
                                      _optional(request, "valid_for_seconds"))
        return bids_pb2.AnswerBidResponse(result=_ANSWERS[outcome])

    @_rpc
    def JobBids(self, request, context):
        window = self.bidding.status(request.job_id, request.cluster, request.token)
        if window.job_state == "accepted":
            state = "accepted"
        else:
            state = "bidding" if window.state == "open" else "offered"
        return bids_pb2.JobBidsResponse(
            job_id=window.job_id, state=state, cluster=window.cluster, closes=_timestamp(window.closes_at),
            bids=[bids_pb2.BidInfo(cluster=b.cluster, answered=b.answered is not None, will_run=b.will_run,
                                   eta_seconds=b.eta_seconds, cost=b.cost) for b in window.bids],
            reasons=window.reasons, tried=window.tried)


class RainbowAccessServicer(access_pb2_grpc.RainbowAccessServicer):
    """Users, groups, grants, the audit trail and rotation (rainbow.server.access)."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.access = Access(scheduler)

    @_rpc
    def SubmitJob(self, request, context):
        outcome = self.scheduler.submit_as_user(
            request.jobspec, request.token, list(request.clusters), name=request.name,
            algorithm=request.select_algorithm, options=dict(request.select_options),
            satisfy_only=request.satisfy_only)
        return access_pb2.UserSubmitResponse(jobid=outcome.jobid, cluster=outcome.cluster, clusters=outcome.clusters,
                                             reasons=outcome.reasons, user=outcome.user)

    @_rpc
    def ListJobs(self, request, context):
        jobs, next_after = self.access.user_jobs(request.token, request.after_id, request.limit)
        return jobs_pb2.ListJobsResponse(jobs=[job_info(j) for j in jobs], next_after_id=next_after)

    @_rpc
    def WhoAmI(self, request, context):
        user, clusters = self.access.whoami(request.token)
        return access_pb2.WhoAmIResponse(user=user, clusters=clusters)

    @_rpc
    def AddUser(self, request, context):
        return access_pb2.UserResponse(token=self.access.add_user(request.admin_token, request.name))

    @_rpc
    def RemoveUser(self, request, context):
        self.access.remove_user(request.admin_token, request.name)
        return access_pb2.UserResponse()

    @_rpc
    def ListUsers(self, request, context):
        users = self.access.list_users(request.admin_token)
        return access_pb2.ListUsersResponse(users=[
            access_pb2.User(name=u.name, created=u.created, clusters=clusters,
                            grants=[access_pb2.Grant(kind=k, target=g) for k, g in u.grants])
            for u, clusters in users])

    @_rpc
    def AddGroup(self, request, context):
        return access_pb2.GroupResponse(created=self.access.add_group(request.admin_token, request.name,
                                                                      list(request.clusters)))

    @_rpc
    def RemoveGroup(self, request, context):
        self.access.remove_group(request.admin_token, request.name)
        return access_pb2.GroupResponse()

    @_rpc
    def ListGroups(self, request, context):
        return access_pb2.ListGroupsResponse(groups=[access_pb2.Group(name=g.name, clusters=g.clusters)
                                                     for g in self.access.list_groups(request.admin_token)])

    @_rpc
    def Grant(self, request, context):
        return access_pb2.GrantResponse(kind=self.access.grant(request.admin_token, request.user, request.target,
                                                               request.kind))

    @_rpc
    def Revoke(self, request, context):
        return access_pb2.GrantResponse(kind=self.access.revoke(request.admin_token, request.user, request.target,
                                                                request.kind))

    @_rpc
    def ListAudit(self, request, context):
        rows = self.access.audit(request.admin_token, request.after_id, request.limit)
        return access_pb2.AuditResponse(rows=[access_pb2.AuditRow(id=r.id, at=r.at, action=r.action,
                                                                  subject=r.subject, detail=r.detail) for r in rows])

    @_rpc
    def Rotate(self, request, context):
        done = self.access.rotate(request.kind, request.name, request.credential, request.overlap_seconds,
                                  request.new_value)
        return access_pb2.RotateResponse(credential=done.credential, old_until=done.old_until)

    @_rpc
    def UpdateGraph(self, request, context):
        return access_pb2.UpdateGraphResponse(nodes=self.access.update_graph(request.cluster, request.secret,
                                                                            request.nodes))
