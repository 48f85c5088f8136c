"""Cluster graphs: read JGF (all dialects), validate it, attach subsystems, and build each cluster's match index."""
from .errors import GraphError
from .index import ClusterIndex, NodeClass, Summary, amounts_below, build_index
from .jgf import Vertex
from .load import parse_graph, parse_subsystem, parse_subsystems
from .model import ClusterGraph, Subsystem
from .shape import Entry, Shape

__all__ = ["ClusterGraph", "ClusterIndex", "Entry", "GraphError", "NodeClass", "Shape", "Subsystem", "Summary",
           "Vertex", "amounts_below", "build_index", "parse_graph", "parse_subsystem", "parse_subsystems"]
