import jobs_pb2 as _jobs_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserSubmitRequest(_message.Message):
    __slots__ = ("token", "jobspec", "name", "clusters", "select_algorithm", "select_options", "satisfy_only")
    class SelectOptionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    JOBSPEC_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    SELECT_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    SELECT_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SATISFY_ONLY_FIELD_NUMBER: _ClassVar[int]
    token: str
    jobspec: str
    name: str
    clusters: _containers.RepeatedScalarFieldContainer[str]
    select_algorithm: str
    select_options: _containers.ScalarMap[str, str]
    satisfy_only: bool
    def __init__(self, token: _Optional[str] = ..., jobspec: _Optional[str] = ..., name: _Optional[str] = ..., clusters: _Optional[_Iterable[str]] = ..., select_algorithm: _Optional[str] = ..., select_options: _Optional[_Mapping[str, str]] = ..., satisfy_only: _Optional[bool] = ...) -> None: ...

class UserSubmitResponse(_message.Message):
    __slots__ = ("jobid", "cluster", "clusters", "reasons", "user")
    class ReasonsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    JOBID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    jobid: int
    cluster: str
    clusters: _containers.RepeatedScalarFieldContainer[str]
    reasons: _containers.ScalarMap[str, str]
    user: str
    def __init__(self, jobid: _Optional[int] = ..., cluster: _Optional[str] = ..., clusters: _Optional[_Iterable[str]] = ..., reasons: _Optional[_Mapping[str, str]] = ..., user: _Optional[str] = ...) -> None: ...

class UserJobsRequest(_message.Message):
    __slots__ = ("token", "after_id", "limit")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    token: str
    after_id: int
    limit: int
    def __init__(self, token: _Optional[str] = ..., after_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("user", "clusters")
    USER_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    user: str
    clusters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user: _Optional[str] = ..., clusters: _Optional[_Iterable[str]] = ...) -> None: ...

class AdminRequest(_message.Message):
    __slots__ = ("admin_token",)
    ADMIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    admin_token: str
    def __init__(self, admin_token: _Optional[str] = ...) -> None: ...

class UserRequest(_message.Message):
    __slots__ = ("admin_token", "name", "overlap_seconds")
    ADMIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    admin_token: str
    name: str
    overlap_seconds: float
    def __init__(self, admin_token: _Optional[str] = ..., name: _Optional[str] = ..., overlap_seconds: _Optional[float] = ...) -> None: ...

class UserResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class Grant(_message.Message):
    __slots__ = ("kind", "target")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    kind: str
    target: str
    def __init__(self, kind: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("name", "created", "grants", "clusters")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    created: float
    grants: _containers.RepeatedCompositeFieldContainer[Grant]
    clusters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., created: _Optional[float] = ..., grants: _Optional[_Iterable[_Union[Grant, _Mapping]]] = ..., clusters: _Optional[_Iterable[str]] = ...) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[User]
    def __init__(self, users: _Optional[_Iterable[_Union[User, _Mapping]]] = ...) -> None: ...

class GroupRequest(_message.Message):
    __slots__ = ("admin_token", "name", "clusters")
    ADMIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    admin_token: str
    name: str
    clusters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, admin_token: _Optional[str] = ..., name: _Optional[str] = ..., clusters: _Optional[_Iterable[str]] = ...) -> None: ...

class GroupResponse(_message.Message):
    __slots__ = ("created",)
    CREATED_FIELD_NUMBER: _ClassVar[int]
    created: bool
    def __init__(self, created: _Optional[bool] = ...) -> None: ...

class Group(_message.Message):
    __slots__ = ("name", "clusters")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    clusters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., clusters: _Optional[_Iterable[str]] = ...) -> None: ...

class ListGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[Group]
    def __init__(self, groups: _Optional[_Iterable[_Union[Group, _Mapping]]] = ...) -> None: ...

class GrantRequest(_message.Message):
    __slots__ = ("admin_token", "user", "target", "kind")
    ADMIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    admin_token: str
    user: str
    target: str
    kind: str
    def __init__(self, admin_token: _Optional[str] = ..., user: _Optional[str] = ..., target: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class GrantResponse(_message.Message):
    __slots__ = ("kind",)
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: str
    def __init__(self, kind: _Optional[str] = ...) -> None: ...

class AuditRequest(_message.Message):
    __slots__ = ("admin_token", "after_id", "limit")
    ADMIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    AFTER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    admin_token: str
    after_id: int
    limit: int
    def __init__(self, admin_token: _Optional[str] = ..., after_id: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class AuditRow(_message.Message):
    __slots__ = ("id", "at", "action", "subject", "detail")
    ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    id: int
    at: float
    action: str
    subject: str
    detail: str
    def __init__(self, id: _Optional[int] = ..., at: _Optional[float] = ..., action: _Optional[str] = ..., subject: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class AuditResponse(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[AuditRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[AuditRow, _Mapping]]] = ...) -> None: ...

class RotateRequest(_message.Message):
    __slots__ = ("kind", "name", "credential", "overlap_seconds", "new_value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_SECONDS_FIELD_NUMBER: _ClassVar[int]
    NEW_VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    credential: str
    overlap_seconds: float
    new_value: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., credential: _Optional[str] = ..., overlap_seconds: _Optional[float] = ..., new_value: _Optional[str] = ...) -> None: ...

class RotateResponse(_message.Message):
    __slots__ = ("credential", "old_until")
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    OLD_UNTIL_FIELD_NUMBER: _ClassVar[int]
    credential: str
    old_until: float
    def __init__(self, credential: _Optional[str] = ..., old_until: _Optional[float] = ...) -> None: ...

class UpdateGraphRequest(_message.Message):
    __slots__ = ("cluster", "secret", "nodes")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    secret: str
    nodes: str
    def __init__(self, cluster: _Optional[str] = ..., secret: _Optional[str] = ..., nodes: _Optional[str] = ...) -> None: ...

class UpdateGraphResponse(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: int
    def __init__(self, nodes: _Optional[int] = ...) -> None: ...
