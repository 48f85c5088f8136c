"""Templates in the matcher: a template is up to max_nodes identical nodes, less those in use, within the cluster's
limits and requirements; reasons name the template; plans give selection the nodes, cost and start-up a job needs."""
from __future__ import annotations

import json

import pytest

from rainbow.graph import build_index, parse_graph
from rainbow.graph.errors import GraphError
from rainbow.graph.generate import NodeKind, make_graph
from rainbow.graph.templates import cluster_index, elastic_index, parse_templates
from rainbow.jobspec import parse_jobspec, simple_jobspec
from rainbow.match import Matcher, match
from rainbow.match.elastic import plan
from rainbow.match.engine import Evaluation


def cores_job(cores: int, requires: list | None = None):
    slot = {"type": "slot", "count": cores, "label": "task", "with": [{"type": "core", "count": 1}]}
    return parse_jobspec(json.dumps({"version": 1, "resources": [slot], "attributes": {},
                                     "tasks": [{"command": ["app"], "slot": "task", "count": {"per_slot": 1}}]}))


def nodes_job(count: int, requires: list | None = None, gpus: int = 0):
    res = {"type": "node", "count": count, "with": [{"type": "core", "count": 1}]}
    if gpus:
        res["with"].append({"type": "gpu", "count": gpus})
    if requires:
        res["requires"] = requires
    return parse_jobspec(json.dumps({"version": 1, "resources": {"n": res},
                                     "tasks": [{"command": ["app"], "resources": "n"}]}))


def template(name="c5.2xlarge", instance_type="c5", cores=8, max_nodes=4, **more):
    return {"name": name, "instance_type": instance_type, "cores": cores, "max_nodes": max_nodes, **more}


def cloud(*templates, state=None, nodes=(), **doc):
    base = build_index(parse_graph(make_graph("cloud", list(nodes))))
    return elastic_index(base, parse_templates({"templates": list(templates), **doc}), state)


def test_eight_cores_times_four_nodes():
    index = cloud(template())
    assert match(cores_job(32), index).ok
    assert match(parse_jobspec(json.dumps(simple_jobspec(4, 32, ["app"]))), index).ok
    refused = match(cores_job(40), index)
    assert not refused.ok and refused.reason == "template c5.2xlarge: 5 nodes needed, max_nodes 4"
    assert match(parse_jobspec(json.dumps(simple_jobspec(5, 5, ["app"]))), index).reason == \
        "template c5.2xlarge: 5 nodes needed, max_nodes 4"


def test_nodes_in_use_are_not_counted():
    index = cloud(template(), state={"templates.c5.2xlarge.in_use": "1"})
    assert match(cores_job(24), index).ok
    assert match(cores_job(32), index).reason == "template c5.2xlarge: 4 nodes needed, max_nodes 4, 1 in use"
    assert match(cores_job(1), cloud(template(), state={"templates.c5.2xlarge.in_use": 9})).reason == \
        "template c5.2xlarge: 1 node needed, max_nodes 4, 4 in use"


def test_a_cores_limit_of_24_refuses_32():
    index = cloud(template(), limits={"cores": 24})
    assert match(cores_job(24), index).ok
    assert match(cores_job(32), index).reason == "template c5.2xlarge: 4 nodes needed, limits.cores 24"
    # nodes in use of another template count against the limit too
    both = cloud(template(), template("small", "t3", cores=4), limits={"cores": 24},
                 state={"templates.small.in_use": 2})
    assert match(cores_job(16), both).ok
    assert match(cores_job(17), both).reason == \
        "templates: 2 x c5.2xlarge, 1 x small needed (20 cores), limits.cores 24, 8 in use"


def test_a_limit_over_several_templates_together():
    # each template alone stays within 24 cores, both together do not
    index = cloud(template("a", "c5", max_nodes=3), template("b", "m5", max_nodes=3), limits={"cores": 24})
    assert match(cores_job(24), index).ok
    refused = match(cores_job(32), index)
    assert not refused.ok and "limits.cores 24" in refused.reason, refused.reason


def test_requirements_exclude_templates():
    req = [{"key": "instance_type", "operator": "In", "values": ["c5"]}]
    only_m5 = cloud(template("m5.2xlarge", "m5"), requirements=req)
    assert match(cores_job(8), only_m5).reason == \
        "template m5.2xlarge: 1 node needed, excluded by requirement instance_type In [c5]"
    both = cloud(template("m5.2xlarge", "m5", cores=16), template(), requirements=req)
    assert match(cores_job(32), both).ok
    assert match(cores_job(33), both).reason == "template m5.2xlarge: 1 node needed, excluded by requirement " \
        "instance_type In [c5]; template c5.2xlarge: 5 nodes needed, max_nodes 4"
    for key, operator, values, fits in [("gpus", "Gt", ["0"], False), ("gpus", "Lt", ["1"], True),
                                        ("zone", "Exists", [], True), ("zone", "DoesNotExist", [], False),
                                        ("instance_family", "NotIn", ["c5"], False), ("zone", "In", ["a", "b"], True)]:
        index = cloud(template(labels={"zone": "a"}),
                      requirements=[{"key": key, "operator": operator, "values": values}])
        assert match(cores_job(8), index).ok is fits, (key, operator)


def test_mixed_cluster_and_node_properties():
    index = cloud(template("gpu", "p4d", gpus=2, gpu_model="A100", max_nodes=2, labels={"zone": "a"}),
                  nodes=[NodeKind(count=2, cores_per_socket=4, properties={"zone": "b"})])
    assert index.node_count == 4
    assert match(cores_job(24), index).ok
    assert match(cores_job(25), index).reason == "template gpu: 3 nodes needed, max_nodes 2"
    assert match(nodes_job(2, gpus=2), index).ok
    assert match(nodes_job(3, gpus=2), index).reason == "template gpu: 3 nodes needed, max_nodes 2"
    on = lambda field, *values: [{"field": field, "op": "In", "values": list(values)}]  # noqa: E731
    assert match(nodes_job(2, on("template", "gpu")), index).ok
    assert match(nodes_job(2, on("zone", "a")), index).ok
    assert match(nodes_job(4, on("zone", "a", "b")), index).ok
    assert not match(nodes_job(3, on("instance_type", "p4d")), index).ok
    # a job no number of template nodes could run gets the graph's reason, with what the templates offer
    reason = match(nodes_job(1, gpus=3), index).reason
    assert "gpu" in reason and reason.endswith("(templates gpu (2 usable, max_nodes 2))"), reason


def test_plans_cost_and_start_up():
    index = cloud(template("fast", "c5", cost_per_hour=1.0, startup_seconds=60),
                  template("cheap", "m5", cost_per_hour=0.25, startup_seconds=600, min_nodes=1),
                  nodes=[NodeKind(count=1, cores_per_socket=8)])
    assert plan(Evaluation(cores_job(8)), index).total == 0  # the fixed node is enough
    chosen = plan(Evaluation(cores_job(24)), index)
    assert chosen.nodes == {"cheap": 2} and chosen.cost_per_hour == 0.5 and chosen.start_seconds == 600
    assert chosen.new == {"cheap": 1}  # min_nodes 1 runs already
    assert plan(Evaluation(cores_job(16)), index).start_seconds == 0  # only the idle min_nodes node
    mixed = plan(Evaluation(cores_job(8 + 32 + 16)), index)
    assert mixed.nodes == {"cheap": 4, "fast": 2} and mixed.start_seconds == 600
    assert mixed.state()["template_cost_per_hour"] == 3.0


def test_matcher_reports_plans_and_keeps_graph_clusters_as_they_were():
    matcher = Matcher()
    matcher.set("cloud", cloud(template(cost_per_hour=0.5)))
    matcher.set("fixed", build_index(parse_graph(make_graph("fixed", [NodeKind(count=2, cores_per_socket=8)]))))
    plans = {}
    fits, reasons = matcher.match(cores_job(24), plans=plans)
    assert fits == ["cloud"] and plans["cloud"].nodes == {"c5.2xlarge": 3}
    assert set(reasons) == {"fixed"}
    assert matcher.match(cores_job(16))[0] == ["cloud", "fixed"]


def test_cluster_index_reads_the_templates_subsystem():
    graph = parse_graph(make_graph("c", [NodeKind(count=1)]))
    index = cluster_index(graph, {"templates": json.dumps({"templates": [template()]})},
                          {"templates.c5.2xlarge.in_use": 2})
    assert index.node_count == 3
    with pytest.raises(GraphError, match=r"templates\[0\]\.cores"):
        cluster_index(graph, {"templates": json.dumps({"templates": [template(cores=0)]})})


@pytest.mark.parametrize("doc,field", [
    ({"templates": []}, "templates"),
    ({"templates": [template(), template()]}, "templates[1].name"),
    ({"templates": [template(cores=6, sockets=4)]}, "templates[0].cores"),
    ({"templates": [template(min_nodes=5)]}, "templates[0].min_nodes"),
    ({"templates": [template()], "limits": {"disks": 3}}, "limits"),
    ({"templates": [template()], "requirements": [{"key": "x", "operator": "Near"}]}, "requirements[0].operator"),
    ({"templates": [template()], "requirements": [{"key": "x", "operator": "In"}]}, "requirements[0]"),
    ({"templates": [template()], "requirements": [{"key": "x", "operator": "Gt", "values": ["a"]}]},
     "requirements[0].values[0]"),
    ({"templates": [template(name="bad name")]}, "templates[0].name"),
])
def test_bad_documents_get_one_line_naming_the_field(doc, field):
    with pytest.raises(GraphError) as failed:
        parse_templates(doc)
    message = str(failed.value)
    assert f"templates: {field}" in message and "\n" not in message, message


def test_cheapest_and_earliest_start_read_the_plan():
    from rainbow.select import Context
    from rainbow.select.scoring import SCORERS

    index = cloud(template(cost_per_hour=0.5, startup_seconds=120))
    planned = plan(Evaluation(cores_job(16)), index).state()
    states = {"cloud": {"cost_per_node_hour": 100, **planned}, "onprem": {"cost_per_node_hour": 2, "eta_seconds": 300}}
    ctx = Context(demand={"node": 2})
    cheap = SCORERS["cheapest"](["cloud", "onprem"], states, ctx)
    assert cheap.values == {"cloud": 100.0, "onprem": 25.0}  # 2 x 0.5 against 2 x 2
    assert cheap.note("cloud") == "cost 1 for 1 h on 2 template nodes"
    soon = SCORERS["earliest-start"](["cloud", "onprem"], states, ctx)
    assert soon.values["cloud"] == 100.0 and soon.note("cloud") == "ETA 120 s (with 120 s to start template nodes)"
    states["cloud"]["eta_seconds"] = 400  # a wait the cluster reports comes first
    assert SCORERS["earliest-start"](["cloud", "onprem"], states, ctx).note("cloud") == \
        "ETA 520 s (with 120 s to start template nodes)"
