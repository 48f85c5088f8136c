"""`rainbow agent`: the cluster side of rainbow, run on each cluster's login node.

It receives the jobs the scheduler assigned to its cluster, submits each to the local resource manager (a plugin
in rainbow.agent.managers), accepts a job only once the manager took it, reports each job's lifecycle back, cancels
what users cancel, and reports the cluster's state.
"""
