"""Synthetic graphs and `compspec create nodes` graphs come out of the same JGF writer."""
from __future__ import annotations

import io

import pytest

from compspec import jgf
from compspec.nodes import NodeInfo
from rainbow.graph import parse_graph
from rainbow.graph.generate import NodeKind, make_graph


def _shape(doc: dict) -> tuple:
    nodes = doc["graph"]["nodes"]
    vertices = list(nodes.values()) if isinstance(nodes, dict) else nodes
    return (sorted(doc), sorted(doc["graph"]), sorted(vertices[0]), sorted(vertices[-1]["metadata"]),
            sorted(doc["graph"]["edges"][0]))


@pytest.mark.parametrize("dialect", jgf.dialects())
def test_generated_and_created_graphs_share_the_writer(dialect):
    created = jgf.build_graph([NodeInfo("a.json", "a", {"x": "y"}, 1, 2, 4)], "c", dialect)
    generated = make_graph("c", [NodeKind(count=1, cores_per_socket=2, memory_gib=4, properties={"x": "y"})],
                           dialect=dialect)
    assert _shape(created) == _shape(generated)
    assert parse_graph(generated).dialect == parse_graph(created).dialect


def test_rows_written_by_hand_read_back():
    rows = [jgf.vertex_row(0, -1, "cluster", "tiny", "tiny0", 0, "/tiny0"),
            jgf.vertex_row(1, 0, "node", "node", "node0", 0, "/tiny0/node0", properties={"k": "v"}),
            jgf.vertex_row(2, 1, "core", "core", "core0", 0, "/tiny0/node0/core0")]
    out = io.StringIO()
    assert jgf.write_rows(rows, "tiny", out, "rainbow") == (3, 4)
    graph = parse_graph(out.getvalue())
    assert graph.node_count == 1 and graph.vertices["1"].properties == {"k": "v"}
