"""Selection: pick one of the clusters that fit (random, or constraint priorities over cluster state)."""
from .algorithms import ALGORITHMS, Selection, algorithm, parse_priorities, select
from .errors import SelectionError
from .expr import evaluate, parse

__all__ = ["ALGORITHMS", "Selection", "SelectionError", "algorithm", "evaluate", "parse", "parse_priorities",
           "select"]
