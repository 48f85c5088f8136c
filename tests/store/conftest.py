"""The store tests report figures the way the reliability suite does."""
from reliability.conftest import figures  # noqa: F401  (a fixture, used by name)
