#!/usr/bin/env python3
"""Poll rainbow for this cluster's jobs and submit each one to Slurm with `sbatch`.

    python examples/slurm_poller.py --config-path rainbow-config.yaml            # poll every 10 s
    python examples/slurm_poller.py --config-path rainbow-config.yaml --once --dry-run

Run it on a login node as the account that owns the cluster's secret (the config file's cluster.name and
cluster.secret).
"""
from __future__ import annotations

import shlex

from poller import Shape, poller_command


def slurm_command(shape: Shape) -> list[str]:
    """`sbatch --parsable` of a one-line batch script that starts the tasks with srun; sbatch prints the job id."""
    return ["sbatch", "--parsable", f"--job-name={shape.name}", f"--nodes={shape.nodes}", f"--ntasks={shape.tasks}",
            f"--cpus-per-task={shape.cores_per_task}", f"--wrap=srun {shlex.join(shape.command)}"]


main = poller_command("Slurm", slurm_command)

if __name__ == "__main__":
    main()
