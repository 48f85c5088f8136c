"""The one error selection raises."""
from compspec.schemas import FormatError


class SelectionError(FormatError):
    """An unknown algorithm, or options (priorities, expressions) that do not parse; the message names which."""
