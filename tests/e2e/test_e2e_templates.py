"""Elastic clusters through the real server, client and command: templates registered with `rainbow register
--templates` (sent as subsystem `templates`), matched as up to max_nodes identical nodes within the cluster's limits
and requirements, re-counted from the nodes in use the cluster reports, and seen by cheapest and earliest-start."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rainbow.cli import main
from rainbow.client import InvalidArgument, RainbowClient, RainbowError
from rainbow.graph.generate import NodeKind, make_graph
from rainbow.jobspec import simple_jobspec
from serverutil import start_server

SECRET = "templates-registration-secret"


def template(name: str, instance_type: str, cores: int = 8, max_nodes: int = 4, **more) -> dict:
    return {"name": name, "instance_type": instance_type, "cores": cores, "memory_gib": 32, "max_nodes": max_nodes,
            **more}


def cores_job(cores: int) -> dict:
    """`cores` one-core tasks, placed anywhere."""
    return {"version": 1, "resources": [{"type": "slot", "count": cores, "label": "task",
                                         "with": [{"type": "core", "count": 1}]}],
            "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}], "attributes": {}}


def cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def server(tmp_path):
    process = start_server(tmp_path, secret=SECRET)
    yield process
    process.stop()


def register(server, tmp_path, name: str, templates: dict, nodes: dict | None = None) -> tuple[str, str]:
    """Register through the command, as a cluster's operator does; returns (token, secret)."""
    path = tmp_path / f"{name}-templates.json"
    path.write_text(json.dumps(templates))
    args = ["register", "--host", server.address, "--cluster-name", name, "--secret", SECRET, "--templates", path,
            "--json"]
    if nodes is not None:
        graph = tmp_path / f"{name}-nodes.json"
        graph.write_text(json.dumps(nodes))
        args += ["--nodes-json", graph]
    code, out = cli(*args)
    assert code == 0, out
    data = json.loads(out)
    assert data["templates"] == [t["name"] for t in templates["templates"]]
    return data["token"], data["secret"]


def test_a_template_of_8_cores_and_4_nodes_fits_32_cores_not_40(store_url, tmp_path):
    server = start_server(tmp_path / "server", secret=SECRET, db=store_url)
    try:
        _eight_by_four(server, tmp_path)
    finally:
        server.stop()


def _eight_by_four(server, tmp_path):
    token, secret = register(server, tmp_path, "cloud", {"templates": [template("c5.2xlarge", "c5")]})
    with RainbowClient(server.address) as client:
        assert client.submit(cores_job(32), [("cloud", token)]).cluster == "cloud"
        assert client.submit(simple_jobspec(4, 32, ["app"]), [("cloud", token)]).cluster == "cloud"
        with pytest.raises(RainbowError) as failed:
            client.submit(simple_jobspec(5, 40, ["app"]), [("cloud", token)])
        assert "template c5.2xlarge: 5 nodes needed, max_nodes 4" in str(failed.value)
        answer = client.satisfy(cores_job(40))
        assert answer.clusters == [] and answer.reasons["cloud"] == "template c5.2xlarge: 5 nodes needed, max_nodes 4"
        # the cluster starts one node for other work: three are left
        client.update_state("cloud", secret, {"templates.c5.2xlarge.in_use": 1})
        assert client.satisfy(cores_job(32)).reasons["cloud"] == \
            "template c5.2xlarge: 4 nodes needed, max_nodes 4, 1 in use"
        assert client.satisfy(cores_job(24)).clusters == ["cloud"]
    server.restart()  # templates and the nodes in use come back from the store
    with RainbowClient(server.address) as client:
        assert client.satisfy(cores_job(24)).clusters == ["cloud"]
        assert client.satisfy(cores_job(32)).clusters == []


def test_limits_and_requirements(server, tmp_path):
    register(server, tmp_path, "limited", {"templates": [template("c5.2xlarge", "c5")], "limits": {"cores": 24}})
    register(server, tmp_path, "picky", {
        "templates": [template("m5.2xlarge", "m5")],
        "requirements": [{"key": "instance_type", "operator": "In", "values": ["c5"]}]})
    with RainbowClient(server.address) as client:
        answer = client.satisfy(cores_job(32))
        assert answer.clusters == []
        assert answer.reasons["limited"] == "template c5.2xlarge: 4 nodes needed, limits.cores 24"
        assert answer.reasons["picky"] == \
            "template m5.2xlarge: 4 nodes needed, excluded by requirement instance_type In [c5]"
        assert client.satisfy(cores_job(24)).clusters == ["limited"]


def test_mixed_cluster_uses_its_graph_first_and_templates_beyond(server, tmp_path):
    graph = make_graph("mixed", [NodeKind(count=2, cores_per_socket=4, properties={"arch": "x86_64"})])
    token, _ = register(server, tmp_path, "mixed", {"templates": [
        template("gpu", "p4d", cores=8, max_nodes=2, gpus=2, gpu_model="A100",
                 labels={"arch": "x86_64"}, cost_per_hour=30.0)]}, nodes=graph)
    gpu_job = {"version": 1, "resources": [{"type": "node", "count": 1, "with": [
        {"type": "slot", "count": 1, "label": "t", "with": [{"type": "core", "count": 1},
                                                            {"type": "gpu", "count": 2}]}]}],
        "tasks": [{"command": ["app"], "slot": "t", "count": {"per_slot": 1}}], "attributes": {}}
    with RainbowClient(server.address) as client:
        assert client.satisfy(cores_job(8 + 16)).clusters == ["mixed"]
        assert client.satisfy(cores_job(25)).reasons["mixed"] == "template gpu: 3 nodes needed, max_nodes 2"
        assert client.submit(gpu_job, [("mixed", token)]).cluster == "mixed"
        # requirements read template nodes' properties as any node's
        def on(field, *values):
            return {"version": 1, "resources": {"n": {"type": "node", "count": 2, "requires": [
                {"field": field, "op": "In", "values": list(values)}]}}, "tasks": [{"command": ["app"], "resources": "n"}]}
        assert client.satisfy(on("instance_type", "p4d")).clusters == ["mixed"]
        assert client.satisfy(on("template", "gpu")).clusters == ["mixed"]
        assert client.satisfy(on("arch", "x86_64")).clusters == ["mixed"]
        refused = client.satisfy(on("instance_type", "c5"))
        assert refused.clusters == [] and "instance_type" in refused.reasons["mixed"], refused.reasons


def test_cheapest_and_earliest_start_see_the_template_nodes_a_job_needs(server, tmp_path):
    fixed = make_graph("onprem", [NodeKind(count=4, cores_per_socket=8)])
    path = tmp_path / "onprem.json"
    path.write_text(json.dumps(fixed))
    with RainbowClient(server.address) as client:
        onprem = client.register("onprem", SECRET, json.dumps(fixed))
        client.update_state("onprem", onprem.secret, {"cost_per_node_hour": 2.0, "eta_seconds": 600})
        tokens = [("onprem", onprem.token)]
        tokens.append(("spot", register(server, tmp_path, "spot", {"templates": [
            template("c5.2xlarge", "c5", cost_per_hour=0.5, startup_seconds=900)]})[0]))
        job = simple_jobspec(2, 16, ["app"])
        cheap = client.submit(job, tokens, select_algorithm="cheapest")
        assert cheap.cluster == "spot", cheap.reasons
        assert "cost 1 for 1 h on 2 template nodes" in cheap.reasons["spot"]
        soon = client.submit(job, tokens, select_algorithm="earliest-start")
        assert soon.cluster == "onprem", soon.reasons
        assert "ETA 900 s (with 900 s to start template nodes)" in soon.reasons["spot"]


def test_register_templates_on_a_registered_cluster_and_bad_files(server, tmp_path):
    with RainbowClient(server.address) as client:
        result = client.register("grow", SECRET, json.dumps(make_graph("grow", [NodeKind(count=1)])))
    first = tmp_path / "first.yaml"
    first.write_text("templates:\n  - {name: small, instance_type: t3, cores: 2, max_nodes: 2}\n")
    common = ["--host", server.address, "--cluster-name", "grow", "--cluster-secret", result.secret]
    code, out = cli("register", "templates", "--templates", first, *common)
    assert code == 0 and "registered templates small for cluster grow" in out, out
    code, out = cli("register", "templates", "--templates", first, *common)
    assert code == 1 and "add --replace" in out
    second = tmp_path / "second.yaml"
    second.write_text("templates:\n  - {name: big, instance_type: c5, cores: 16, max_nodes: 2}\n")
    code, out = cli("register", "templates", "--templates", second, "--replace", *common)
    assert code == 0, out
    with RainbowClient(server.address) as client:
        assert client.satisfy(cores_job(36)).clusters == ["grow"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("templates:\n  - {name: x, instance_type: c5, cores: -1, max_nodes: 2}\n")
    code, out = cli("register", "templates", "--templates", bad, "--replace", *common)
    assert code == 1 and out.strip().splitlines()[-1].startswith("Error: ") and "templates[0].cores" in out, out
    # a bad file is refused before anything is registered
    code, out = cli("register", "--host", server.address, "--cluster-name", "never", "--secret", SECRET,
                    "--templates", bad)
    assert code == 1 and "templates[0].cores" in out, out
    with RainbowClient(server.address) as client:
        assert "never" not in client.satisfy(cores_job(1)).reasons and client.satisfy(cores_job(1)).clusters == ["grow"]
    # a client that skips the checks gets a one-line INVALID_ARGUMENT naming the field; nothing is stored
    with RainbowClient(server.address) as client:
        assert client.delete_subsystem("grow", result.secret, "templates") == "DELETE_SUCCESS"
        assert client.satisfy(cores_job(36)).clusters == []
        with pytest.raises(InvalidArgument) as refused:
            client.register_subsystem("grow", result.secret, "templates",
                                      json.dumps({"templates": [{"name": "x", "instance_type": "c5", "cores": 4}]}))
        assert "templates[0]" in str(refused.value) and "max_nodes" in str(refused.value)
        assert "\n" not in str(refused.value)
        assert client.satisfy(cores_job(4)).clusters == ["grow"]
        assert client.satisfy(cores_job(5)).clusters == []
