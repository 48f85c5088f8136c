"""Selection: pick one of the clusters that fit (random, constraint priorities over cluster state, or a scored
preset)."""
from .algorithms import ALGORITHMS, Selection, algorithm, known_algorithms, parse_priorities, select
from .errors import SelectionError
from .expr import evaluate, parse
from .scoring import SCORERS, Context, Preset, builtin_presets, load_presets, scorer, site_presets

__all__ = ["ALGORITHMS", "SCORERS", "Context", "Preset", "Selection", "SelectionError", "algorithm",
           "builtin_presets", "evaluate", "known_algorithms", "load_presets", "parse", "parse_priorities", "scorer",
           "select", "site_presets"]
