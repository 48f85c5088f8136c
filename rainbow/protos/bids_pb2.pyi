import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpenBidsRequest(_message.Message):
    __slots__ = ("cluster", "secret", "limit")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    secret: str
    limit: int
    def __init__(self, cluster: _Optional[str] = ..., secret: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class BidRequest(_message.Message):
    __slots__ = ("job_id", "name", "jobspec", "closes")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    JOBSPEC_FIELD_NUMBER: _ClassVar[int]
    CLOSES_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    name: str
    jobspec: str
    closes: _timestamp_pb2.Timestamp
    def __init__(self, job_id: _Optional[int] = ..., name: _Optional[str] = ..., jobspec: _Optional[str] = ..., closes: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OpenBidsResponse(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[BidRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[BidRequest, _Mapping]]] = ...) -> None: ...

class AnswerBidRequest(_message.Message):
    __slots__ = ("cluster", "secret", "job_id", "will_run", "eta_seconds", "cost", "valid_for_seconds")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WILL_RUN_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    VALID_FOR_SECONDS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    secret: str
    job_id: int
    will_run: bool
    eta_seconds: float
    cost: float
    valid_for_seconds: float
    def __init__(self, cluster: _Optional[str] = ..., secret: _Optional[str] = ..., job_id: _Optional[int] = ..., will_run: _Optional[bool] = ..., eta_seconds: _Optional[float] = ..., cost: _Optional[float] = ..., valid_for_seconds: _Optional[float] = ...) -> None: ...

class AnswerBidResponse(_message.Message):
    __slots__ = ("result",)
    class Result(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ANSWER_UNSPECIFIED: _ClassVar[AnswerBidResponse.Result]
        ANSWER_RECORDED: _ClassVar[AnswerBidResponse.Result]
        ANSWER_ALREADY: _ClassVar[AnswerBidResponse.Result]
        ANSWER_CLOSED: _ClassVar[AnswerBidResponse.Result]
        ANSWER_UNKNOWN: _ClassVar[AnswerBidResponse.Result]
    ANSWER_UNSPECIFIED: AnswerBidResponse.Result
    ANSWER_RECORDED: AnswerBidResponse.Result
    ANSWER_ALREADY: AnswerBidResponse.Result
    ANSWER_CLOSED: AnswerBidResponse.Result
    ANSWER_UNKNOWN: AnswerBidResponse.Result
    RESULT_FIELD_NUMBER: _ClassVar[int]
    result: AnswerBidResponse.Result
    def __init__(self, result: _Optional[_Union[AnswerBidResponse.Result, str]] = ...) -> None: ...

class JobBidsRequest(_message.Message):
    __slots__ = ("job_id", "cluster", "token")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    cluster: str
    token: str
    def __init__(self, job_id: _Optional[int] = ..., cluster: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...

class BidInfo(_message.Message):
    __slots__ = ("cluster", "answered", "will_run", "eta_seconds", "cost")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    ANSWERED_FIELD_NUMBER: _ClassVar[int]
    WILL_RUN_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    answered: bool
    will_run: bool
    eta_seconds: float
    cost: float
    def __init__(self, cluster: _Optional[str] = ..., answered: _Optional[bool] = ..., will_run: _Optional[bool] = ..., eta_seconds: _Optional[float] = ..., cost: _Optional[float] = ...) -> None: ...

class JobBidsResponse(_message.Message):
    __slots__ = ("job_id", "state", "cluster", "closes", "bids", "reasons", "tried")
    class ReasonsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CLOSES_FIELD_NUMBER: _ClassVar[int]
    BIDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    TRIED_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    state: str
    cluster: str
    closes: _timestamp_pb2.Timestamp
    bids: _containers.RepeatedCompositeFieldContainer[BidInfo]
    reasons: _containers.ScalarMap[str, str]
    tried: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_id: _Optional[int] = ..., state: _Optional[str] = ..., cluster: _Optional[str] = ..., closes: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bids: _Optional[_Iterable[_Union[BidInfo, _Mapping]]] = ..., reasons: _Optional[_Mapping[str, str]] = ..., tried: _Optional[_Iterable[str]] = ...) -> None: ...
