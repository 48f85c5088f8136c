"""`rainbow agent`: run this cluster's assigned jobs on its resource manager, and report how they go."""
from __future__ import annotations

import logging

import click

from rainbow.cli.common import cluster_options, connection_options, resolve
from rainbow.cli.settings import setting
from rainbow.logformat import configure_logging, log_format_option

# Long enough for the job in hand to be submitted, accepted and reported (each manager command may take a minute).
STOP_GRACE = 90.0
MANAGERS = ("slurm", "flux", "shell")


@click.command()
@setting("--manager", type=click.Choice(MANAGERS), config_key="agent.manager", required=True,
         envvar="RAINBOW_AGENT_MANAGER",
         help="The cluster's resource manager (shell: run jobs as local processes).")
@setting("--state-dir", type=click.Path(file_okay=False), config_key="agent.state_dir",
         envvar="RAINBOW_AGENT_STATE_DIR",
         default="rainbow-agent", show_default=True,
         help="Folder of the agent's journal and of the jobs' output files.")
@setting("--interval", type=click.FloatRange(min=0.05), config_key="agent.interval", default=5.0,
         show_default=True, help="Seconds between rounds (receive, follow, cancel).")
@setting("--state-interval", type=click.FloatRange(min=0.05), config_key="agent.state_interval", default=30.0,
         show_default=True, help="Seconds between cluster state reports (UpdateState).")
@setting("--max-jobs", type=click.IntRange(min=0), config_key="agent.max_jobs", default=10, show_default=True,
         help="Jobs taken per round (0: all queued).")
@setting("--requeue-on-refusal/--no-requeue-on-refusal", "requeue", config_key="agent.requeue_on_refusal",
         default=True, show_default=True,
         help="Ask the scheduler to offer a job the manager refuses to another cluster that fits.")
@setting("--backoff-max", type=click.FloatRange(min=0.1), config_key="agent.backoff_max", default=60.0,
         show_default=True, help="Longest wait between tries while the server is unreachable.")
@setting("--container-runtime", type=click.Choice(["apptainer", "singularity", "podman", "none"]),
         config_key="agent.container_runtime", default="apptainer", show_default=True,
         envvar="RAINBOW_CONTAINER_RUNTIME",
         help="Runs the jobs submitted with an image (rainbow submit --image) in it; none: such jobs are refused.")
@click.option("--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A site value sent with every state report, e.g. cost_per_node_hour=3 (repeatable; laid over "
                   "the config file's agent.state; the manager's live figures win).")
@setting("--bids/--no-bids", "bids", config_key="agent.bids", default=True, show_default=True,
         help="Answer bid requests (select_algorithm bid) with the manager's estimate: Slurm's sbatch --test-only, "
              "Flux's and the shell's free resources.")
@setting("--bid-command", config_key="agent.bid_command", default="",
         help="A site command that answers bids instead: the jobspec on stdin, one JSON object on stdout "
              "({will_run, eta_seconds, cost, valid_for}).")
@click.option("--once", is_flag=True, help="Run one round and exit.")
@log_format_option
@cluster_options
@connection_options
def agent(manager: str, state_dir: str, interval: float, state_interval: float, max_jobs: int, requeue: bool,
          backoff_max: float, container_runtime: str, pairs: tuple[str, ...], once: bool, log_format: str = "text",
          bids: bool = True, bid_command: str = "", **params) -> None:
    """Run the jobs rainbow assigns to this cluster on its resource manager (a service on the login node).

    Each round: submit each new job locally and accept it only then; report each job's lifecycle (submitted,
    running, completed with its exit code, failed, cancelled); cancel jobs users cancel; report the cluster's
    state. Give the cluster secret through RAINBOW_CLUSTER_SECRET or the config file, not the command line.
    """
    from rainbow.shutdown import StopSignals, end_process

    configure_logging(log_format)
    log = logging.getLogger("rainbow.agent")
    signals = click.get_current_context().with_resource(StopSignals(
        grace=STOP_GRACE, say=log.info, stopping="stopping after the job in hand"))
    from rainbow.agent.journal import Journal
    from rainbow.agent.loop import Agent, AgentOptions
    from rainbow.agent.managers import create
    from rainbow.client import RainbowError

    from rainbow.cli.state import _value

    settings = resolve(params)
    name, secret = settings.cluster_credentials()
    site = dict(settings.get("agent.state") or {})
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--set {pair!r}: expected KEY=VALUE")
        site[key] = _value(text)
    try:
        journal = Journal(f"{state_dir}/journal.jsonl")
    except OSError as exc:
        raise click.ClickException(f"{state_dir}: cannot keep the journal there: {exc.strerror}") from None
    local = create(manager, workdir=state_dir, cluster=name)
    options = AgentOptions(cluster=name, secret=secret, interval=interval, state_interval=state_interval,
                           max_jobs=max_jobs, requeue=requeue, backoff_max=backoff_max,
                           container_runtime=container_runtime, site_state=site, bids=bids,
                           bid_command=bid_command or "")
    with settings.client() as client:
        runner = Agent(client, local, journal, options, stop=signals.stop)
        try:
            runner.run(once=once)
        except RainbowError as exc:
            raise click.ClickException(str(exc)) from None
    end_process(0)
