"""Matching: does a cluster's index fit a request, and if not, why (pure: no I/O, no gRPC)."""
from .engine import Evaluation
from .explain import describe, explain
from .matcher import MatchResult, Matcher, match
from .requirements import OPERATORS, operator, value_meets

__all__ = ["Evaluation", "MatchResult", "Matcher", "OPERATORS", "describe", "explain", "match", "operator",
           "value_meets"]
