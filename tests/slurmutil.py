"""A throw-away one-node Slurm for tests: munged, slurmctld and slurmd in the foreground as children, on free
loopback ports, with every file in a temporary folder, stopped by PID and removed afterwards.

The node is this host, described as `slurmd -C` sees it. Commands reach this Slurm through the environment that
`env()` gives (SLURM_CONF), so nothing of the host's own Slurm set-up, if any, is read or changed.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

START_TIMEOUT = 30.0
NEEDED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel")
MUNGE_KEY = Path("/etc/munge/munge.key")


def missing() -> str:
    """Why Slurm cannot start here ("" when it can)."""
    absent = [name for name in NEEDED if shutil.which(name) is None]
    if absent:
        return f"Slurm is not installed ({', '.join(absent)} missing; Debian: apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "a one-node Slurm on this host runs its daemons as root (SlurmUser=root); not root here"
    if not MUNGE_KEY.exists():
        return f"{MUNGE_KEY} is missing (Debian's munge package makes it)"
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SlurmCluster:
    """A running one-node Slurm; `env()` is the environment its commands need."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = socket.gethostname().split(".")[0]
        self.conf = root / "slurm.conf"
        self.socket = root / "munge" / "munge.socket"
        self.procs: list[subprocess.Popen] = []
        self.cpus = 1
        self.memory_mb = 0

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(args, env=self.env(), capture_output=True, text=True, check=check, timeout=60)

    def _node_line(self) -> str:
        done = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
        line = next(l for l in done.stdout.splitlines() if l.startswith("NodeName="))
        fields = dict(part.split("=", 1) for part in line.split())
        self.cpus = int(fields.get("CPUs", 1))
        self.memory_mb = int(fields.get("RealMemory", 0))
        return line

    def _write_conf(self) -> None:
        state = self.root / "state"
        spool = self.root / "spool"
        for folder in (state, spool):
            folder.mkdir()
        lines = [
            "ClusterName=rainbowtest",
            f"SlurmctldHost={self.host}",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            f"StateSaveLocation={state}",
            f"SlurmdSpoolDir={spool}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.root / 'slurmctld.log'}",
            f"SlurmdLogFile={self.root / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "SchedulerParameters=sched_interval=1",
            "EnforcePartLimits=ALL",
            self._node_line(),
            "PartitionName=debug Nodes=ALL Default=YES State=UP DefaultTime=10",
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def _start_munge(self) -> None:
        folder = self.root / "munge"
        folder.mkdir(mode=0o711)
        key = folder / "munge.key"
        shutil.copyfile(MUNGE_KEY, key)
        key.chmod(0o400)
        self.procs.append(subprocess.Popen(
            ["munged", "-F", "--force", f"--socket={self.socket}", f"--key-file={key}",
             f"--pid-file={folder / 'munged.pid'}", f"--log-file={folder / 'munged.log'}",
             f"--seed-file={folder / 'munged.seed'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + START_TIMEOUT
        while not self.socket.exists():
            if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                raise RuntimeError(f"munged did not start: {(folder / 'munged.log').read_text(errors='replace')}")
            time.sleep(0.05)

    def start(self) -> None:
        self._start_munge()
        self._write_conf()
        env = self.env()
        out = open(self.root / "daemons.out", "ab")
        self.procs.append(subprocess.Popen(["slurmctld", "-D", "-c", "-f", str(self.conf)], env=env, stdout=out,
                                           stderr=subprocess.STDOUT))
        self.procs.append(subprocess.Popen(["slurmd", "-D", "-f", str(self.conf)], env=env, stdout=out,
                                           stderr=subprocess.STDOUT))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            done = self.run("sinfo", "-h", "-o", "%T", check=False)
            if done.returncode == 0 and done.stdout.strip() == "idle":
                return
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                log = (self.root / "slurmctld.log").read_text(errors="replace")[-2000:] \
                    if (self.root / "slurmctld.log").exists() else ""
                raise RuntimeError(f"Slurm did not start ({', '.join(dead) or 'timeout'}): {done.stderr} {log}")
            time.sleep(0.2)

    def jobs(self, name: str = "") -> list[str]:
        """Ids of the jobs Slurm knows (finished ones included while it keeps them), of one name if given."""
        args = ["squeue", "-h", "--states=all", "-o", "%i"]
        if name:
            args.append(f"--name={name}")
        return self.run(*args).stdout.split()

    def cancel_all(self) -> None:
        self.run("scancel", "--user=root", check=False)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_slurm() -> SlurmCluster | None:
    """A running one-node Slurm in a new temporary folder; None when Slurm is not installed."""
    if missing():
        return None
    cluster = SlurmCluster(Path(tempfile.mkdtemp(prefix="rainbow-slurm-")))
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster
