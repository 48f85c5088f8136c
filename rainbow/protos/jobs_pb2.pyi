import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListJobsRequest(_message.Message):
    __slots__ = ("cluster", "secret", "state", "after_id", "limit", "tokens", "id")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    secret: str
    state: str
    after_id: int
    limit: int
    tokens: _containers.RepeatedScalarFieldContainer[str]
    id: int
    def __init__(self, cluster: _Optional[str] = ..., secret: _Optional[str] = ..., state: _Optional[str] = ..., after_id: _Optional[int] = ..., limit: _Optional[int] = ..., tokens: _Optional[_Iterable[str]] = ..., id: _Optional[int] = ...) -> None: ...

class JobInfo(_message.Message):
    __slots__ = ("id", "cluster", "name", "state", "submitted", "accepted", "jobspec", "status", "local_id", "exit_code", "reason", "updated", "started", "ended", "cancel_requested", "tried")
    ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    JOBSPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    ENDED_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    TRIED_FIELD_NUMBER: _ClassVar[int]
    id: int
    cluster: str
    name: str
    state: str
    submitted: _timestamp_pb2.Timestamp
    accepted: _timestamp_pb2.Timestamp
    jobspec: str
    status: str
    local_id: str
    exit_code: int
    reason: str
    updated: _timestamp_pb2.Timestamp
    started: _timestamp_pb2.Timestamp
    ended: _timestamp_pb2.Timestamp
    cancel_requested: bool
    tried: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., cluster: _Optional[str] = ..., name: _Optional[str] = ..., state: _Optional[str] = ..., submitted: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., jobspec: _Optional[str] = ..., status: _Optional[str] = ..., local_id: _Optional[str] = ..., exit_code: _Optional[int] = ..., reason: _Optional[str] = ..., updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ended: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_requested: _Optional[bool] = ..., tried: _Optional[_Iterable[str]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_after_id")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobInfo]
    next_after_id: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobInfo, _Mapping]]] = ..., next_after_id: _Optional[int] = ...) -> None: ...

class ReportJobRequest(_message.Message):
    __slots__ = ("cluster", "secret", "id", "status", "local_id", "exit_code", "reason", "requeue")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEUE_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    secret: str
    id: int
    status: str
    local_id: str
    exit_code: int
    reason: str
    requeue: bool
    def __init__(self, cluster: _Optional[str] = ..., secret: _Optional[str] = ..., id: _Optional[int] = ..., status: _Optional[str] = ..., local_id: _Optional[str] = ..., exit_code: _Optional[int] = ..., reason: _Optional[str] = ..., requeue: _Optional[bool] = ...) -> None: ...

class ReportJobResponse(_message.Message):
    __slots__ = ("job", "requeued_to")
    JOB_FIELD_NUMBER: _ClassVar[int]
    REQUEUED_TO_FIELD_NUMBER: _ClassVar[int]
    job: JobInfo
    requeued_to: str
    def __init__(self, job: _Optional[_Union[JobInfo, _Mapping]] = ..., requeued_to: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("id", "tokens", "cluster", "secret")
    ID_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    id: int
    tokens: _containers.RepeatedScalarFieldContainer[str]
    cluster: str
    secret: str
    def __init__(self, id: _Optional[int] = ..., tokens: _Optional[_Iterable[str]] = ..., cluster: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job", "outcome")
    JOB_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    job: JobInfo
    outcome: str
    def __init__(self, job: _Optional[_Union[JobInfo, _Mapping]] = ..., outcome: _Optional[str] = ...) -> None: ...

class CancelRequestsRequest(_message.Message):
    __slots__ = ("cluster", "secret")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    secret: str
    def __init__(self, cluster: _Optional[str] = ..., secret: _Optional[str] = ...) -> None: ...

class CancelRequestsResponse(_message.Message):
    __slots__ = ("jobs",)
    JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[JobInfo]
    def __init__(self, jobs: _Optional[_Iterable[_Union[JobInfo, _Mapping]]] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ("credential", "assignments", "job_id")
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    credential: str
    assignments: int
    job_id: int
    def __init__(self, credential: _Optional[str] = ..., assignments: _Optional[int] = ..., job_id: _Optional[int] = ...) -> None: ...

class ClusterStatus(_message.Message):
    __slots__ = ("name", "nodes", "cores", "gpus", "subsystems", "registered", "last_report", "state")
    class StateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    CORES_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    SUBSYSTEMS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    LAST_REPORT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    name: str
    nodes: int
    cores: int
    gpus: int
    subsystems: _containers.RepeatedScalarFieldContainer[str]
    registered: _timestamp_pb2.Timestamp
    last_report: _timestamp_pb2.Timestamp
    state: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., nodes: _Optional[int] = ..., cores: _Optional[int] = ..., gpus: _Optional[int] = ..., subsystems: _Optional[_Iterable[str]] = ..., registered: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_report: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., state: _Optional[_Mapping[str, str]] = ...) -> None: ...

class AssignmentInfo(_message.Message):
    __slots__ = ("job", "name", "cluster", "state", "algorithm", "reason", "others", "made")
    class OthersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    JOB_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OTHERS_FIELD_NUMBER: _ClassVar[int]
    MADE_FIELD_NUMBER: _ClassVar[int]
    job: int
    name: str
    cluster: str
    state: str
    algorithm: str
    reason: str
    others: _containers.ScalarMap[str, str]
    made: _timestamp_pb2.Timestamp
    def __init__(self, job: _Optional[int] = ..., name: _Optional[str] = ..., cluster: _Optional[str] = ..., state: _Optional[str] = ..., algorithm: _Optional[str] = ..., reason: _Optional[str] = ..., others: _Optional[_Mapping[str, str]] = ..., made: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class JobStatus(_message.Message):
    __slots__ = ("id", "name", "cluster", "state", "submitted", "accepted", "assignment")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    cluster: str
    state: str
    submitted: _timestamp_pb2.Timestamp
    accepted: _timestamp_pb2.Timestamp
    assignment: AssignmentInfo
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., cluster: _Optional[str] = ..., state: _Optional[str] = ..., submitted: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., accepted: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., assignment: _Optional[_Union[AssignmentInfo, _Mapping]] = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("generated", "clusters", "jobs_by_state", "oldest_pending", "assignments", "job")
    class JobsByStateEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    GENERATED_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    JOBS_BY_STATE_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PENDING_FIELD_NUMBER: _ClassVar[int]
    ASSIGNMENTS_FIELD_NUMBER: _ClassVar[int]
    JOB_FIELD_NUMBER: _ClassVar[int]
    generated: _timestamp_pb2.Timestamp
    clusters: _containers.RepeatedCompositeFieldContainer[ClusterStatus]
    jobs_by_state: _containers.ScalarMap[str, int]
    oldest_pending: _timestamp_pb2.Timestamp
    assignments: _containers.RepeatedCompositeFieldContainer[AssignmentInfo]
    job: JobStatus
    def __init__(self, generated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., clusters: _Optional[_Iterable[_Union[ClusterStatus, _Mapping]]] = ..., jobs_by_state: _Optional[_Mapping[str, int]] = ..., oldest_pending: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., assignments: _Optional[_Iterable[_Union[AssignmentInfo, _Mapping]]] = ..., job: _Optional[_Union[JobStatus, _Mapping]] = ...) -> None: ...
