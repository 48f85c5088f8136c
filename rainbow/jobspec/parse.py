"""Read the three jobspec forms (nextgen v1, Flux v1, the simple command form) into one `Request` tree."""
from __future__ import annotations

import copy
import math
from typing import Any, Mapping, Sequence


from compspec.compat import Mappings, requirements_from_artifact, validate_requires
from compspec import documents
from compspec.schemas import FormatError, validate
from compspec.versions import parse as parse_version

from rainbow.graph.settings import device_properties, identity_fields

from .constraints import parse_constraint
from .errors import JobspecError
from .needs import compile_groups
from .model import Request, Requirement, ResourceRequest, Task

# Metadata fields that identify one vertex; requirements cannot name them (node classes do not keep them).
IDENTITY_FIELDS = identity_fields()
DEVICE_PROPERTIES = device_properties()
_NO_VALUES = {"Exists", "DoesNotExist", "IsTrue", "IsFalse"}


def load_document(data: str | bytes | Mapping, what: str = "jobspec") -> dict[str, Any]:
    """YAML or JSON text (or an already parsed mapping) as a dict."""
    return documents.load(data, what, kind=dict, error=JobspecError)


def _validate(schema: str, doc: dict) -> None:
    try:
        validate(schema, doc, "jobspec", fast=True)
    except FormatError as exc:
        raise JobspecError(str(exc)) from None


def _requirement(raw: Mapping[str, Any], where: str) -> Requirement:
    where = f"jobspec: {where}"
    field = raw["field"]
    subsystem = raw.get("name")
    if subsystem is not None and field in IDENTITY_FIELDS:
        raise JobspecError(f"{where}.field: {field!r} identifies a single vertex; match on type or basename")
    if subsystem is None and field in DEVICE_PROPERTIES:
        raise JobspecError(f"{where}.field: {field!r} identifies a single device and cannot be required")
    has_range = "min" in raw or "max" in raw
    op = raw.get("op")
    if op is None and ("value" in raw or "values" in raw):
        raise JobspecError(f"{where}: value/values need op")
    if "match" not in raw and not has_range and op is None:
        raise JobspecError(f"{where}: needs match, min/max or op")
    for bound in ("min", "max"):
        if bound in raw and parse_version(raw[bound]) is None:
            raise JobspecError(f"{where}.{bound}: {raw[bound]!r} is not a version")
    values: tuple[str, ...] = ()
    if op is not None:
        if "value" in raw and "values" in raw:
            raise JobspecError(f"{where}: give value or values, not both")
        values = tuple(raw["values"]) if "values" in raw else ((raw["value"],) if "value" in raw else ())
        _check_operator(op, values, where)
    return Requirement(field=field, subsystem=subsystem, match=raw.get("match"), min=raw.get("min"),
                       max=raw.get("max"), op=op, values=values)


def _check_operator(op: str, values: tuple[str, ...], where: str) -> None:
    if op in _NO_VALUES:
        if values:
            raise JobspecError(f"{where}: op {op} takes no values")
        return
    if op in ("In", "NotIn"):
        if not values:
            raise JobspecError(f"{where}: op {op} needs at least one value")
        return
    wanted = 2 if op == "GtLt" else 1
    if len(values) != wanted:
        raise JobspecError(f"{where}: op {op} needs exactly {wanted} value{'s' if wanted > 1 else ''}")
    try:
        numbers = [int(v) for v in values]
    except ValueError:
        raise JobspecError(f"{where}: op {op} needs integer values, got {', '.join(values)}") from None
    if op == "GtLt" and numbers[0] >= numbers[1]:
        raise JobspecError(f"{where}: op GtLt needs the lower value first")


def _count(raw: Any, where: str) -> tuple[int, tuple[int, int | None, str, int] | None]:
    """The count that decides fit (a number, or the `min` of RFC 14's range form) and the range as given."""
    if not isinstance(raw, Mapping):
        return int(raw), None  # the schema admits integers only (1.0 is one)
    low, high = int(raw["min"]), raw.get("max")
    if high is not None and high < low:
        raise JobspecError(f"jobspec: {where}.count.max: {high} is below min {low}")
    operator, operand = raw.get("operator", "+"), raw.get("operand", 1)
    if operator in ("*", "^") and operand < 2:
        raise JobspecError(f"jobspec: {where}.count.operand: operator {operator} needs an operand of at least 2")
    return low, (low, high, operator, operand)


def _resource(raw: Mapping[str, Any], where: str) -> ResourceRequest:
    if raw["type"] == "xor_slot":
        raise JobspecError(f"jobspec: {where}.type: xor_slot (alternative slots, Fluxion's opt-in flexible "
                           f"traverser) is not supported; ask for one slot")
    children = tuple(_resource(child, f"{where}.with[{i}]") for i, child in enumerate(raw.get("with", ())))
    slots = [i for i, child in enumerate(children) if child.type == "slot"]
    if len(slots) > 1:
        raise JobspecError(f"jobspec: {where}.with[{slots[1]}]: a second slot beside with[{slots[0]}] "
                           f"(Fluxion reads one slot per level; put both in one slot)")
    requires = tuple(_requirement(req, f"{where}.requires[{i}]") for i, req in enumerate(raw.get("requires", ())))
    count, count_range = _count(raw.get("count", 1), where)
    return ResourceRequest(type=raw["type"], count=count, count_range=count_range,
                           replicas=raw.get("replicas", 1), unit=raw.get("unit", ""), label=raw.get("label", ""),
                           exclusive=raw.get("exclusive", False), requires=requires, with_=children)


def _system(doc: Mapping[str, Any]) -> tuple[dict[str, Any], Any, float | None]:
    """attributes.system as given, its RFC 31 constraint parsed, and its duration."""
    system = dict((doc.get("attributes") or {}).get("system") or {})
    constraint = parse_constraint(system["constraints"]) if "constraints" in system else None
    duration = system.get("duration")
    return system, constraint, (float(duration) if duration is not None else None)


def _command(raw: Any) -> list[str]:
    if raw is None:
        return []
    return raw.split() if isinstance(raw, str) else list(raw)


def _check_requires(requires: dict, mappings: Mappings | None) -> None:
    try:
        validate_requires(requires, mappings)
    except FormatError as exc:
        raise JobspecError(str(exc)) from None


def parse_jobspec(data: str | bytes | dict, mappings: Mappings | None = None) -> Request:
    """Parse a nextgen v1 or Flux v1 jobspec (YAML or JSON text, or a dict) into a Request."""
    doc = load_document(data)
    if isinstance(doc.get("resources"), list):
        _validate("jobspec-flux", doc)
        resources = tuple(_resource(r, f"resources[{i}]") for i, r in enumerate(doc["resources"]))
        slots = [i for i, r in enumerate(resources) if r.type == "slot"]
        if len(slots) > 1:
            raise JobspecError(f"jobspec: resources[{slots[1]}]: a second slot beside resources[{slots[0]}] "
                               f"(Fluxion reads one slot per level; put both in one slot)")
        tasks = [Task(command=list(t["command"]), replicas=t.get("count", {}).get("total", 1),
                      resources=t.get("slot", "")) for t in doc["tasks"]]
        form = "flux"
    else:
        _validate("jobspec-nextgen", doc)
        resources = tuple(_resource(r, f"resources.{key}") for key, r in doc["resources"].items())
        tasks = []
        for i, raw in enumerate(doc.get("tasks", ())):
            name = raw.get("resources", "")
            if name and name not in doc["resources"]:
                raise JobspecError(f"jobspec: tasks[{i}].resources: no resource named {name!r}")
            tasks.append(Task(command=_command(raw.get("command")), replicas=raw.get("replicas", 1),
                              resources=name))
        form = "nextgen"
    requires = {ns: dict(attrs) for ns, attrs in doc.get("requires", {}).items()}
    _check_requires(requires, mappings)
    attributes = doc.get("attributes") or {}
    parameters = dict(attributes.get("parameter") or {})
    system, constraint, duration = _system(doc)
    name = doc.get("name") or ""
    return Request(name=name, form=form, resources=resources, requires=requires, parameters=parameters,
                   tasks=tasks, document=doc, groups=compile_groups(resources), constraint=constraint,
                   duration=duration, system=system)


def simple_jobspec(nodes: int, tasks: int, command: Sequence[str], name: str = "") -> dict:
    """The nextgen document for `submit --nodes N --tasks T -- command`: N nodes, each with ceil(T/N) cores."""
    if not isinstance(nodes, int) or nodes < 1:
        raise JobspecError(f"nodes: must be a positive integer, got {nodes!r}")
    if not isinstance(tasks, int) or tasks < 1:
        raise JobspecError(f"tasks: must be a positive integer, got {tasks!r}")
    command = [str(part) for part in command]
    if not command:
        raise JobspecError("command: must not be empty")
    job = name or command[0].rsplit("/", 1)[-1]
    return {
        "version": 1,
        "name": job,
        "resources": {
            "compute": {"type": "node", "replicas": nodes,
                        "with": [{"type": "core", "count": math.ceil(tasks / nodes)}]},
        },
        "tasks": [{"command": command, "replicas": tasks, "resources": "compute"}],
    }


def fold_artifact(jobspec: dict, artifact: dict, strict: bool = False) -> dict:
    """A copy of `jobspec` whose top-level `requires` also holds the artifact's requirements.

    A requirement both name with different values is an error rather than a silent override.
    """
    try:
        extra = requirements_from_artifact(artifact, strict=strict)
    except FormatError as exc:
        raise JobspecError(str(exc)) from None
    doc = copy.deepcopy(dict(jobspec))
    requires = doc.get("requires") or {}
    if not isinstance(requires, dict):
        raise JobspecError("jobspec: requires: must be a mapping of namespace to attributes")
    for namespace, attributes in extra.items():
        have = requires.setdefault(namespace, {})
        if not isinstance(have, dict):
            raise JobspecError(f"jobspec: requires.{namespace}: must be a mapping")
        for attribute, value in attributes.items():
            if attribute in have and have[attribute] != value:
                raise JobspecError(f"jobspec: requires.{namespace}.{attribute}: jobspec asks {have[attribute]!r}, "
                                   f"artifact asks {value!r}")
            have[attribute] = value
    doc["requires"] = requires
    return doc


def set_container(jobspec: dict, container: Mapping[str, Any]) -> dict:
    """A copy of `jobspec` whose `attributes.system.container` names the image the job runs in.

    The cluster's agent hands it to its container runtime (`pull` is the image pinned by digest when known). A
    jobspec that already names another image is an error rather than a silent override.
    """
    doc = copy.deepcopy(dict(jobspec))
    attributes = doc.setdefault("attributes", {})
    if not isinstance(attributes, dict):
        raise JobspecError("jobspec: attributes: must be a mapping")
    system = attributes.setdefault("system", {})
    if not isinstance(system, dict):
        raise JobspecError("jobspec: attributes.system: must be a mapping")
    have = system.get("container")
    if isinstance(have, dict) and have.get("image") not in (None, container.get("image")):
        raise JobspecError(f"jobspec: attributes.system.container.image: jobspec names {have.get('image')!r}, "
                           f"--image names {container.get('image')!r}")
    system["container"] = dict(container)
    return doc
