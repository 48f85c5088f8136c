"""rainbow: a multi-cluster scheduler that matches jobs to the clusters that can run them."""
__version__ = "0.1.0"
