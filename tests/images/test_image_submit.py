"""`rainbow submit --image` through the real server: the image's artifact, found in a real registry, places or
refuses the job exactly as the same artifact given as a file does, and the queued jobspec names the image."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from compspec.oci.artifacts import Resolver
from rainbow.cli import main
from rainbow.client import RainbowClient
from rainbow.graph.generate import NodeKind, make_graph

from .conftest import push_image

ARTIFACTS = Path(__file__).resolve().parents[1] / "data" / "upstream" / "artifacts"
UBUNTU_22 = {"system.os.name": "Ubuntu 22.04.3 LTS", "system.os.vendor": "ubuntu", "system.os.version": "22.04",
             "system.os.release": "22.04.3", "library.mpi.variant": "OpenMPI", "system.cpu.target": "haswell"}
ROCKY_8 = {"system.os.name": "Rocky Linux 8.9 (Green Obsidian)", "system.os.vendor": "rocky",
           "system.os.version": "8.9", "system.os.release": "8.9", "library.mpi.variant": "intel-mpi",
           "library.mpi.version": "2021.8", "system.cpu.target": "skylake_avx512"}


def rainbow(*args, env):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return result


def test_submit_by_image_places_or_refuses_as_the_artifact_file_does(rainbow_server, registry, tmp_path):
    client = RainbowClient(rainbow_server.address)
    picks = []
    for name, properties in (("alpha", UBUNTU_22), ("beta", ROCKY_8)):
        graph = make_graph(name, [NodeKind(4, sockets=1, cores_per_socket=4, memory_gib=16, properties=properties)])
        registered = client.register(name, rainbow_server.secret, graph)
        picks += ["--cluster", f"{name}={registered.token}"]
    beta_secret = registered.secret
    rocky8, rocky9 = f"{registry.address}/submit/lammps:rocky8", f"{registry.address}/submit/lammps:rocky9"
    rocky8_digest = push_image(rocky8)
    resolver = Resolver(cache_dir=None)
    resolver.push(json.loads((ARTIFACTS / "compspec-intel-mpi-rocky-8-amd64.json").read_text()), subject=rocky8)
    resolver.push(json.loads((ARTIFACTS / "compspec-intel-mpi-rocky-9-amd64.json").read_text()),
                  target=f"{rocky9}-compspec")
    env = {"RAINBOW_HOST": rainbow_server.address, "RAINBOW_CONFIG": str(tmp_path / "none.yaml")}

    by_file = {}
    for tag in ("rocky-8", "rocky-9"):
        done = rainbow("submit", "--satisfy-only", "--explain", "--json", *picks, "--artifact",
                       ARTIFACTS / f"compspec-intel-mpi-{tag}-amd64.json", "--nodes", "1", "--", "lmp", env=env)
        by_file[tag] = json.loads(done.stdout)
    for tag, image in (("rocky-8", rocky8), ("rocky-9", rocky9)):
        done = rainbow("submit", "--satisfy-only", "--explain", "--json", *picks, "--image", image,
                       "--nodes", "1", "--", "lmp", env=env)
        assert json.loads(done.stdout) == by_file[tag], done.output
    assert by_file["rocky-8"]["clusters"] == ["beta"]
    assert by_file["rocky-9"]["clusters"] == [] and "Rocky Linux 9.3" in by_file["rocky-9"]["reasons"]["beta"]

    placed = rainbow("submit", *picks, "--image", rocky8, "--nodes", "1", "--", "lmp", "-in", "in.lj", env=env)
    assert placed.exit_code == 0 and placed.stdout.startswith("submitted job ") and "to cluster beta" in placed.stdout
    refused = rainbow("submit", *picks, "--image", rocky9, "--nodes", "1", "--", "lmp", env=env)
    assert refused.exit_code == 1

    job, = client.receive("beta", beta_secret)
    jobspec = json.loads(job.jobspec)
    container = jobspec["attributes"]["system"]["container"]
    assert container["image"] == rocky8 and container["digest"] == rocky8_digest
    assert container["pull"] == f"{registry.address}/submit/lammps@{rocky8_digest}"
    assert jobspec["requires"]["org.supercontainers"]["mpi.implementation"] == "intel-mpi"
    assert jobspec["tasks"][0]["command"] == ["lmp", "-in", "in.lj"]

    jobspec = tmp_path / "job.yaml"
    jobspec.write_text("version: 1\nresources:\n  one: {type: node, with: [{type: core, count: 2}]}\n"
                       "tasks:\n- {command: [lmp], resources: one}\n")
    from_file = rainbow("submit", "--satisfy-only", "--json", *picks, "--jobspec", jobspec, "--image", rocky8, env=env)
    assert from_file.exit_code == 0 and json.loads(from_file.stdout)["clusters"] == ["beta"], from_file.output

    missing = rainbow("submit", *picks, "--image", f"{registry.address}/submit/lammps:none", "--nodes", "1", "--", "lmp",
                      env=env)
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (f"Error: image {registry.address}/submit/lammps:none: not in registry "
                                      f"{registry.address}, nor its artifact tag none-compspec")
