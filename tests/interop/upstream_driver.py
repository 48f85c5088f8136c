"""Drive a rainbow server with the upstream Python client (rainbow-scheduler 0.0.16), the way its users do.

Runs in the upstream package's own interpreter (its import name `rainbow` is ours too), never imports this project,
and writes one JSON object, what each step answered, to the settings' `out` file (the upstream client prints
progress on stdout). Usage: python upstream_driver.py SETTINGS.json
"""
import json
import sys
from pathlib import Path

import grpc
import jobspec.core as js
import rainbow.config as config
from rainbow.client import RainbowClient


def attempt(results, step, func):
    """Record what a step returned, or the gRPC status it failed with."""
    try:
        results[step] = {"ok": True, "value": func()}
    except grpc.RpcError as exc:
        results[step] = {"ok": False, "code": exc.code().name, "details": exc.details()}
    except Exception as exc:  # the upstream client raises plain exceptions for its own checks
        results[step] = {"ok": False, "code": type(exc).__name__, "details": str(exc)}


def main():
    settings = json.loads(Path(sys.argv[1]).read_text())
    data = Path(settings["data"])
    config_path = str(Path(settings["workdir"]) / "upstream-config.yaml")
    name = settings["cluster"]
    results = {}

    cfg = config.new_rainbow_config(settings["address"], name, settings["secret"])
    cfg.save_yaml(config_path)
    cli = RainbowClient(config_file=config_path)
    nodes = str(data / "cluster-nodes.json")

    def register():
        response = cli.register(name, settings["secret"], nodes)
        return {"status": response.status, "token": response.token, "secret": response.secret}

    attempt(results, "register", register)
    attempt(results, "register_again", register)
    attempt(results, "register_bad_secret",
            lambda: cli.register(name + "-x", "not-the-secret", nodes).status)
    if not results["register"]["ok"]:
        Path(settings["out"]).write_text(json.dumps(results))
        return
    token = results["register"]["value"]["token"]
    secret = results["register"]["value"]["secret"]

    # What a user does with the answer: keep the cluster's credentials and its token in the config file.
    cfg = config.RainbowConfig(config_path)
    cfg.add_cluster(name, token)
    cfg._cfg["cluster"]["secret"] = secret
    cfg.save_yaml(config_path)
    cli = RainbowClient(config_file=config_path)

    attempt(results, "register_subsystem",
            lambda: cli.register_subsystem(name, "io", secret, str(data / "cluster-io-subsystem.json")).status)
    attempt(results, "register_subsystem_bad_secret",
            lambda: cli.register_subsystem(name, "spack", "wrong", str(data / "spack-subsystem.json")).status)
    state = json.loads((data / "cluster-state.json").read_text())
    attempt(results, "update_state_dict", lambda: cli.update_state(name, state, secret).status)
    attempt(results, "update_state_file",
            lambda: cli.update_state(name, str(data / "cluster-state.json"), secret).status)

    def submit(spec):
        response = cli.submit_jobspec(spec)
        return {"status": response.status, "cluster": getattr(response, "cluster", ""),
                "clusters": list(response.clusters), "total_clusters": response.total_clusters,
                "total_matches": response.total_matches}

    constraint = js.Jobspec(str(data / "jobspec-constraint.yaml"))
    attempt(results, "submit_jobspec", lambda: submit(constraint) | {"name": constraint.name})

    def submit_simple(nodes, tasks):
        response = cli.submit_job(["hostname"], nodes=nodes, tasks=tasks)
        return {"status": response.status, "cluster": getattr(response, "cluster", ""),
                "clusters": list(response.clusters), "total_matches": response.total_matches}

    attempt(results, "submit_job_fits", lambda: submit_simple(2, 4))
    attempt(results, "submit_job_too_big", lambda: submit_simple(4, 1))
    attempt(results, "receive_jobs", lambda: cli.receive_jobs())
    attempt(results, "receive_jobs_again", lambda: cli.receive_jobs())
    Path(settings["out"]).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
