"""compspec: describe what a node is, merge nodes into a cluster graph, describe and check compatibility."""
__version__ = "0.1.0"
