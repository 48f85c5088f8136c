"""The one error graph loading raises."""
from compspec.schemas import FormatError


class GraphError(FormatError):
    """A cluster or subsystem graph is not valid; the one-line message names the vertex or edge."""
