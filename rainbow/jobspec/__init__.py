"""Jobspecs: the three accepted forms, parsed into one request tree the matcher reads."""
from .errors import JobspecError
from .model import OPERATORS, Request, Requirement, ResourceRequest, Task
from .parse import fold_artifact, load_document, parse_jobspec, set_container, simple_jobspec

__all__ = ["JobspecError", "OPERATORS", "Request", "Requirement", "ResourceRequest", "Task", "fold_artifact",
           "load_document", "parse_jobspec", "set_container", "simple_jobspec"]
