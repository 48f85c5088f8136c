"""The one error jobspec parsing raises."""
from compspec.schemas import FormatError


class JobspecError(FormatError):
    """A jobspec is not valid; the one-line message names the field."""
