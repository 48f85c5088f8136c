#!/usr/bin/env python3
"""Poll rainbow for this cluster's jobs and submit each one to Flux with `flux submit`.

    python examples/flux_poller.py --config-path rainbow-config.yaml            # poll every 10 s
    python examples/flux_poller.py --config-path rainbow-config.yaml --once --dry-run

Run it as the account that owns the cluster's secret (the config file's cluster.name and cluster.secret), inside
a Flux instance (so that `flux` finds it), for example as a service of the system instance.
"""
from __future__ import annotations

from poller import Shape, poller_command


def flux_command(shape: Shape) -> list[str]:
    """`flux submit` with the job's nodes, tasks and cores per task; Flux prints the new job's id."""
    return ["flux", "submit", f"--job-name={shape.name}", f"--nodes={shape.nodes}", f"--ntasks={shape.tasks}",
            f"--cores-per-task={shape.cores_per_task}", "--", *shape.command]


main = poller_command("Flux", flux_command)

if __name__ == "__main__":
    main()
