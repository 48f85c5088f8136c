"""`make demo`: the whole flow on one machine, narrated, in a temporary folder, with checks at every step.

It plays rainbow/data/demo/demo.yaml: start a server on a free loopback port, extract this node, build two clusters
from recorded machines (rainbow/data/demo/hosts/) plus this node, register them, attach an io subsystem, report state, submit a
job that only one cluster can run and one that no cluster can run, then receive and accept as the chosen cluster.
Every step checks that it did what it says; the first step that did not ends the demo with exit status 1. The
server is stopped and the folder removed whatever happens.

The commands run as a user would run them (`compspec extract`, `compspec create nodes`, `rainbow serve`); the
calls to the server go through `rainbow.client`, the API the CLI and the example scripts use.
"""
from __future__ import annotations

import json
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn, Sequence

from compspec import documents
from compspec.schemas import FormatError
from rainbow.client import FailedPrecondition, RainbowClient, RainbowError
from rainbow.server.launch import LaunchError, ServedProcess, serve_command
from rainbow.shutdown import Stop, StopSignals, end_process, signal_name

# The demo's data is package data (rainbow/data/demo), so an installed package plays it without a source tree.
DATA = Path(__file__).resolve().parent / "data" / "demo"
HOSTS = DATA / "hosts"
SCENARIO = DATA / "demo.yaml"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
# How to start our two commands with this interpreter, whatever the venv's script folder holds.
COMMANDS = {name: f"import sys; from {name}.cli import main; sys.exit(main())" for name in ("compspec", "rainbow")}


class DemoFailed(RuntimeError):
    """A step did not do what it said; the message says what happened instead."""


class DemoStopped(RuntimeError):
    """SIGINT or SIGTERM asked the demo to stop."""


# Set by SIGINT/SIGTERM (see main); every step and every wait checks it.
STOP = Stop()
# The processes running now (the server, a command of a step), killed if a second signal ends the demo at once.
RUNNING: set[subprocess.Popen] = set()
FOLDERS: set[str] = set()


def check_stop() -> None:
    if STOP.is_set():
        raise DemoStopped(f"{signal_name(STOP.signum)} received")


def say(text: str = "") -> None:
    print(text, flush=True)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise DemoFailed(message)


def load_scenario(path: Path = SCENARIO) -> dict[str, Any]:
    """Read and validate the scenario, so that a broken file fails with its field named, before anything starts."""
    return documents.read(path, path.name, schema="demo-scenario", package="rainbow")


def run(args: Sequence[str], workdir: Path, shown: Sequence[str] | None = None) -> None:
    """Run one of our commands in the temporary folder the way a user would, and show it (as `shown`, when the
    real arguments hold long absolute paths); a failure ends the demo."""
    say(f"   $ {shlex.join(shown or args)}")
    full = [sys.executable, "-c", COMMANDS[args[0]], *args[1:]]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(full, cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        RUNNING.add(proc)
        try:
            deadline = time.monotonic() + 120
            while proc.poll() is None:
                if STOP.wait(0.05):
                    proc.terminate()
                    proc.wait()
                    check_stop()
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    raise DemoFailed(f"`{shlex.join(shown or args)}` did not finish within 120 s")
        finally:
            RUNNING.discard(proc)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if proc.returncode != 0:
        last = (stderr.strip().splitlines() or ["(no message)"])[-1]
        raise DemoFailed(f"`{shlex.join(shown or args)}` exited with {proc.returncode}: {last}")


class Server:
    """`rainbow serve` on a free loopback port with a throw-away database; its output goes to files."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.process = ServedProcess(serve_command("--host", "127.0.0.1", "--port", "0", "--db", "rainbow.db"),
                                     workdir)
        self.address = ""
        self.secret = ""

    def start(self) -> None:
        say("   $ rainbow serve --host 127.0.0.1 --port 0 --db rainbow.db")
        self.process.launch()
        RUNNING.add(self.process.proc)
        try:
            self.process.wait_serving(START_TIMEOUT, stop=STOP)
        except LaunchError as exc:
            check_stop()
            raise DemoFailed(str(exc)) from None
        self.address, self.secret = self.process.address, self.process.secret or ""
        expect(bool(self.secret), f"rainbow serve did not print its registration secret: {self.tail()}")

    def tail(self) -> str:
        return self.process.log_tail(5) if self.process.proc is not None else "(no output)"

    def stop(self) -> int | None:
        """SIGTERM and wait; killed if it does not stop. Returns the exit status (None if it never started)."""
        if self.process.proc is None:
            return None
        try:
            return self.process.stop(STOP_TIMEOUT)
        except LaunchError:
            return -signal.SIGKILL
        finally:
            RUNNING.discard(self.process.proc)


def describe(node: dict[str, Any]) -> str:
    """One line about a node file: CPU, OS, MPI, GPUs."""
    results = node.get("results") or node.get("extractors") or {}

    def field(extractor: str, section: str, key: str) -> str:
        return str(((results.get(extractor) or {}).get("sections", {}).get(section) or {}).get(key, "")).strip()

    cpu = field("system", "cpu", "target") or field("system", "arch", "arch") or "unknown CPU"
    cores = field("system", "cpu", "cores")
    os_name = field("system", "os", "name") or "unknown OS"
    mpi = " ".join(filter(None, [field("library", "mpi", "variant"), field("library", "mpi", "version")]))
    gpus = [f"{field('gpu', s, 'count')} x {field('gpu', s, 'model') or field('gpu', s, 'vendor')}"
            for s in ("nvidia", "amd", "pci") if field("gpu", s, "count") not in ("", "0")]
    return (f"{cpu}{f', {cores} cores' if cores else ''}; {os_name}; {mpi or 'no MPI found'}; "
            f"{gpus[0] + ' GPUs' if gpus else 'no GPU'}")


def node_labels(graph: dict[str, Any]) -> list[str]:
    """Labels of the node vertices of a rainbow-dialect graph, in label order."""
    nodes = graph["graph"]["nodes"]
    items = nodes.items() if isinstance(nodes, dict) else ((n["id"], n) for n in nodes)
    return sorted((label for label, v in items if v["metadata"]["type"] == "node"), key=lambda s: (len(s), s))


def attach_subsystem(template: dict[str, Any], labels: Sequence[str]) -> dict[str, Any]:
    """The subsystem's vertices with every vertex the template hung off a cluster vertex now hung off each label."""
    own = set(template["graph"]["nodes"])
    attached = sorted({e["target"] for e in template["graph"]["edges"]
                       if e["source"] not in own and e["target"] in own})
    kept = [e for e in template["graph"]["edges"] if e["source"] in own and e["target"] in own]
    edges = kept + [edge for label in labels for target in attached
                    for edge in ({"source": label, "target": target, "relation": "contains"},
                                 {"source": target, "target": label, "relation": "in"})]
    return {"graph": {**template["graph"], "edges": edges}}


class Demo:
    """The steps, in order; each one narrates, acts and checks."""

    def __init__(self, workdir: Path, scenario: dict[str, Any]) -> None:
        self.work = workdir
        self.scenario = scenario
        self.server = Server(workdir)
        self.client: RainbowClient | None = None
        self.graphs: dict[str, dict[str, Any]] = {}
        self.credentials: dict[str, tuple[str, str]] = {}
        self.step_no = 0

    def step(self, title: str) -> None:
        check_stop()
        self.step_no += 1
        say()
        say(f"{self.step_no}. {title}")

    def play(self) -> None:
        self.start_server()
        this_node = self.extract_this_node()
        for cluster in self.scenario["clusters"]:
            self.build_cluster(cluster, this_node)
        self.register()
        self.attach_io()
        self.report_state()
        placed = [self.submit(job) for job in self.scenario["jobs"]]
        for cluster, jobid in placed:
            if cluster:
                self.receive_and_accept(cluster, jobid)
        if self.scenario.get("agent"):
            self.run_agent(self.scenario["agent"])
        self.stop_server()

    def start_server(self) -> None:
        self.step("Start a rainbow server on a free loopback port, with a new database in a temporary folder.")
        self.server.start()
        say(f"   serving on {self.server.address}; it made a registration secret for this run: "
            f"{self.server.secret[:6]}... (it prints it once; clusters need it to register)")
        self.client = RainbowClient(self.server.address, timeout=20.0)
        expect(self.client.health() == "SERVING", "the server's health check does not answer SERVING")

    def extract_this_node(self) -> Path:
        self.step("Extract this node: what CPU, OS, MPI and GPUs does the machine running the demo have?")
        path = self.work / "this-node.json"
        run(["compspec", "extract", "--quiet", "--out", path.name], self.work)
        node = json.loads(path.read_text())
        expect(bool(node.get("results")), "the node file has no results")
        say(f"   this node: {describe(node)}")
        return path

    def build_cluster(self, cluster: dict[str, Any], this_node: Path) -> None:
        name = cluster["name"]
        count = sum(m["nodes"] for m in cluster["machines"])
        extra = " plus this node" if cluster.get("this_node") else ""
        self.step(f"Build cluster {name!r} from {count} recorded nodes{extra}: {cluster['about']}.")
        folder = self.work / "nodes" / name
        folder.mkdir(parents=True)
        index = 0
        for machine in cluster["machines"]:
            host_root = HOSTS / machine["host"]
            expect(host_root.is_dir(), f"the recorded machine {host_root} is missing")
            recorded = self.work / f"{machine['host']}.json"
            if not recorded.exists():
                args = ["compspec", "extract", "--quiet", "--host-root", str(host_root), "--out", recorded.name]
                shown = [*args[:4], str(host_root.relative_to(DATA)), *args[5:]]
                run(args, self.work, shown)
            node = json.loads(recorded.read_text())
            say(f"   {machine['nodes']} x {node['metadata']['hostname']}: {describe(node)}")
            for _ in range(machine["nodes"]):  # the same machine once per node name, as on a real cluster
                index += 1
                hostname = f"{name}-{index:02d}"
                copy = dict(node, metadata={**node["metadata"], "hostname": hostname})
                (folder / f"{hostname}.json").write_text(json.dumps(copy))
        if cluster.get("this_node"):
            (folder / "this-node.json").write_bytes(this_node.read_bytes())
            count += 1
        out = self.work / f"{name}.json"
        run(["compspec", "create", "nodes", "--cluster-name", name, "--node-dir", str(folder.relative_to(self.work)),
             "--nodes-output", out.name], self.work)
        graph = json.loads(out.read_text())
        labels = node_labels(graph)
        expect(len(labels) == count, f"the graph of {name} has {len(labels)} nodes, expected {count}")
        self.graphs[name] = graph
        say(f"   graph of {name}: {len(labels)} nodes, {len(graph['graph']['nodes'])} vertices")

    def register(self) -> None:
        names = [c["name"] for c in self.scenario["clusters"]]
        self.step(f"Register {' and '.join(names)} with the registration secret.")
        for name in names:
            result = self.client.register(name, self.server.secret, self.graphs[name])
            expect(result.status == "REGISTER_SUCCESS" and result.token and result.secret,
                  f"register {name}: {result.status}")
            self.credentials[name] = (result.token, result.secret)
            say(f"   {name}: {result.status}; token {result.token[:6]}... (for users who may submit there), "
                f"secret {result.secret[:6]}... (kept by the cluster)")
        again = self.client.register(names[0], self.server.secret, self.graphs[names[0]])
        expect(again.status == "REGISTER_EXISTS" and not again.token, "registering a name twice was not refused")
        say(f"   registering {names[0]} again answers {again.status} and hands out no credentials")

    def attach_io(self) -> None:
        for cluster in self.scenario["clusters"]:
            if not cluster.get("io"):
                continue
            name = cluster["name"]
            self.step(f"Attach an io subsystem (storage tiers) to every node of {name}.")
            template = json.loads((DATA / cluster["io"]).read_text())
            subsystem = attach_subsystem(template, node_labels(self.graphs[name]))
            kinds = sorted({v["metadata"]["type"] for v in subsystem["graph"]["nodes"].values()} - {"io"})
            status = self.client.register_subsystem(name, self.credentials[name][1], "io", subsystem)
            expect(status == "REGISTER_SUCCESS", f"register subsystem io on {name}: {status}")
            say(f"   io on {name}: {status} ({', '.join(kinds)})")
            jobspec = (DATA / "jobspec-io.yaml").read_text()
            fits = self.client.satisfy(jobspec)
            expect(fits.clusters == [name], f"a job asking for shm storage fits {fits.clusters}, expected [{name!r}]")
            say(f"   a job that asks for a node with shm storage now fits: {', '.join(fits.clusters)}")

    def report_state(self) -> None:
        self.step("Each cluster reports its state (free nodes, cost), which constraint selection can use.")
        for cluster in self.scenario["clusters"]:
            name = cluster["name"]
            status = self.client.update_state(name, self.credentials[name][1], cluster["state"])
            expect(status == "UPDATE_STATE_SUCCESS", f"update state of {name}: {status}")
            state = ", ".join(f"{k}={v}" for k, v in cluster["state"].items())
            say(f"   {name}: {state}: {status}")

    def submit(self, job: dict[str, Any]) -> tuple[str, int]:
        from rainbow.jobspec import fold_artifact, simple_jobspec

        artifact_path = DATA / job["artifact"]
        artifact = json.loads(artifact_path.read_text())
        wants = {k: v for c in artifact["compatibilities"] for k, v in c["attributes"].items()
                 if k in ("os.vendor", "os.version", "mpi.implementation", "mpi.version", "hardware.gpu.available")}
        self.step(f"Submit {job['name']!r}: {job['about']}, on {job['nodes']} nodes.")
        say(f"   its artifact ({artifact_path.name}) needs: "
            + ", ".join(f"{k}={v}" for k, v in wants.items()))
        jobspec = fold_artifact(simple_jobspec(job["nodes"], job["tasks"], job["command"], name=job["name"]),
                                artifact)
        clusters = [(name, token) for name, (token, _) in self.credentials.items()]
        answer = self.client.submit(jobspec, clusters, name=job["name"], satisfy_only=True)
        for name in sorted(answer.reasons):
            say(f"   {name} cannot run it: {answer.reasons[name]}")
        if job["expect"] == "none":
            expect(not answer.clusters, f"expected no cluster to fit, but {answer.clusters} do")
            try:
                self.client.submit(jobspec, clusters, name=job["name"])
            except FailedPrecondition as exc:
                say(f"   submitting it anyway is refused ({exc.code}); nothing is queued")
                return "", 0
            raise DemoFailed(f"{job['name']} fits no cluster but the submission was accepted")
        expect(answer.clusters == [job["expect"]], f"{job['name']} fits {answer.clusters}, expected "
                                                  f"[{job['expect']!r}]")
        result = self.client.submit(jobspec, clusters, name=job["name"])
        expect(result.status == "SUBMIT_SUCCESS" and result.cluster == job["expect"] and result.jobid > 0,
              f"submit {job['name']}: {result.status}, cluster {result.cluster!r}, job id {result.jobid}")
        say(f"   it went to {result.cluster}, as job {result.jobid}")
        return result.cluster, result.jobid

    def receive_and_accept(self, cluster: str, jobid: int) -> None:
        self.step(f"As cluster {cluster}, receive the queued jobs and accept job {jobid}.")
        secret = self.credentials[cluster][1]
        for other, (_, other_secret) in self.credentials.items():
            if other != cluster:
                expect(all(j.id != jobid for j in self.client.receive(other, other_secret)),
                      f"{other} was handed job {jobid}")
        jobs = {j.id: j for j in self.client.receive(cluster, secret)}
        expect(jobid in jobs, f"{cluster} received {sorted(jobs)}, not job {jobid}")
        say(f"   {cluster} received job {jobid} ({jobs[jobid].name}); no other cluster sees it")
        status = self.client.accept(cluster, secret, [jobid])
        expect(status == "RESULT_TYPE_SUCCESS", f"accept {jobid}: {status}")
        expect(all(j.id != jobid for j in self.client.receive(cluster, secret)),
              f"job {jobid} is still queued after it was accepted")
        say(f"   accept: {status}; job {jobid} is no longer queued (`rainbow agent` does this for a cluster, after "
            "handing the job to Slurm, Flux or a local process)")
        again = self.client.accept(cluster, secret, [jobid])
        expect(again == "RESULT_TYPE_PARTIAL", f"accepting job {jobid} twice answered {again}")

    def run_agent(self, job: dict[str, Any]) -> None:
        import yaml

        from rainbow.jobspec import simple_jobspec

        cluster = job["cluster"]
        token, secret = self.credentials[cluster]
        self.step(f"Start the agent of cluster {cluster} (shell manager: jobs run as local processes), submit "
                  f"{job['name']!r}: {job.get('about', '')}.")
        config = self.work / f"{cluster}-agent.yaml"
        config.write_text(yaml.safe_dump({"host": self.server.address, "cluster": {"name": cluster, "secret": secret},
                                          "agent": {"manager": "shell", "state_dir": f"{cluster}-agent",
                                                    "interval": 0.2, "state_interval": 1.0}}))
        config.chmod(0o600)
        say(f"   $ rainbow agent --config-path {config.name} &    (the config holds the cluster's secret)")
        log = open(self.work / f"{cluster}-agent.log", "wb")
        proc = subprocess.Popen([sys.executable, "-c", COMMANDS["rainbow"], "agent", "--config-path", config.name],
                                cwd=self.work, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        RUNNING.add(proc)
        try:
            say(f"   $ rainbow submit --cluster {cluster} --nodes 1 --tasks 1 -- {shlex.join(job['command'])}")
            result = self.client.submit(simple_jobspec(1, 1, job["command"], name=job["name"]),
                                        [(cluster, token)], name=job["name"])
            say(f"   job {result.jobid} queued for {result.cluster}")
            seen: list[str] = []
            deadline = time.monotonic() + 60
            while True:
                now = self.client.get_job(result.jobid, tokens=[token])
                if now.status and (not seen or seen[-1] != now.status):
                    seen.append(now.status)
                if now.status in ("completed", "failed", "cancelled"):
                    break
                expect(proc.poll() is None, f"rainbow agent exited with {proc.returncode}: "
                                            f"{(self.work / f'{cluster}-agent.log').read_text()[-500:]}")
                expect(time.monotonic() < deadline, f"job {result.jobid} is still {now.status or now.state}")
                if STOP.wait(0.1):
                    check_stop()
            say(f"   the user follows it (rainbow job {result.jobid}): {' -> '.join(seen)}, "
                f"exit code {now.exit_code}, local id {now.local_id}")
            expect(now.status == "completed" and now.exit_code == job.get("exit_code", 0),
                   f"job {result.jobid} ended {now.status} with exit code {now.exit_code}: {now.reason}")
            output = self.work / f"{cluster}-agent" / "output" / f"rainbow-{result.jobid}.out"
            say(f"   its output: {output.read_text().strip()}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
            RUNNING.discard(proc)
        expect(code == 0, f"rainbow agent exited with {code} on SIGTERM")
        lines = (self.work / f"{cluster}-agent.log").read_text().splitlines()
        say(f"   the agent's log, one line per event ({len(lines)} lines), stopped cleanly on SIGTERM:")
        for line in lines:
            if f"job {result.jobid}:" in line:
                say("     " + line.split(" INFO ", 1)[-1])

    def stop_server(self) -> None:
        self.step("Stop the server.")
        self.close_client()
        code = self.server.stop()
        expect(code == 0, f"rainbow serve exited with {code}: {self.server.tail()}")
        say("   stopped cleanly (exit 0)")

    def close_client(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """`rainbow demo [SCENARIO]` (or `python -m rainbow.demo`): play the packaged scenario, or another of its form,
    and end the process with the demo's status."""
    # First: a signal from here on ends the demo cleanly, and a second one at once.
    with StopSignals(grace=STOP_TIMEOUT + 5.0, say=lambda line: say(f"demo: {line}"), before_exit=_kill_running,
                     stopping="stopping the server and removing the folder", stop=STOP):
        status = _run(list(sys.argv[1:] if argv is None else argv))
        # Still inside the block, as `rainbow serve` does: a signal arriving from here to the end meets the quiet
        # handler, never the default action, and the interpreter's teardown is skipped.
        end_process(status)


def _run(args: list[str]) -> int:
    path = Path(args[0]) if args else SCENARIO
    started = time.monotonic()
    say("rainbow demo: extract nodes, build cluster graphs, serve, register, submit, receive and accept,")
    say("all on this machine, in a temporary folder that is removed at the end.")
    try:
        scenario = load_scenario(path)
    except FormatError as exc:
        say(f"FAILED: cannot read the scenario {path}: {exc}")
        return 1
    status = _play(scenario, STOP)
    if status == 0:
        say()
        say(f"Done in {time.monotonic() - started:.1f} s: every step did what it said; nothing is left running.")
    return status


def _play(scenario: dict[str, Any], stop: Stop) -> int:
    """Play in a temporary folder, stopping the server and removing the folder whatever happens; the exit status
    is 0, 1 when a step failed, or 128 + the signal that stopped the demo."""
    with tempfile.TemporaryDirectory(prefix="rainbow-demo-") as tmp:
        FOLDERS.add(tmp)
        demo = Demo(Path(tmp), scenario)
        try:
            demo.play()
        except DemoStopped as exc:
            say()
            say(f"STOPPED at step {demo.step_no}: {exc}; the server is stopped and the folder removed")
            return 128 + stop.signum
        except (DemoFailed, RainbowError, OSError, ValueError) as exc:
            if stop.is_set():  # a step cut short by the stop fails for that reason, not its own
                say()
                say(f"STOPPED at step {demo.step_no}: {signal_name(stop.signum)} received; the server is stopped "
                    "and the folder removed")
                return 128 + stop.signum
            say()
            say(f"FAILED at step {demo.step_no}: {exc}")
            return 1
        finally:
            demo.close_client()
            demo.server.stop()
            FOLDERS.discard(tmp)
    return 0


def _kill_running() -> None:
    """Before an immediate exit: kill what the demo started and remove its folder, without waiting for anything."""
    for proc in list(RUNNING):
        proc.kill()
    for folder in list(FOLDERS):
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
