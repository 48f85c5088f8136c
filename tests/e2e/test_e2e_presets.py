"""Scored presets through the real server, client and command: spread deals jobs out evenly, a site preset from the
server's config decides, and `rainbow submit --explain` prints each candidate's scores."""
from __future__ import annotations

import collections
import json

import yaml
from click.testing import CliRunner

from rainbow.cli import main
from rainbow.client import RainbowClient
from rainbow.jobspec import simple_jobspec
from serverutil import start_server

from reliability.rel_graphs import cluster_graph

SECRET = "presets-registration-secret"


def _register(client: RainbowClient, names, cores: int = 8) -> dict[str, tuple[str, str]]:
    out = {}
    for name in names:
        result = client.register(name, SECRET, json.dumps(cluster_graph(name, nodes=2, cores=cores)))
        out[name] = (result.token, result.secret)
    return out


def test_spread_gives_each_of_n_identical_clusters_three_of_3n_jobs(tmp_path):
    server = start_server(tmp_path, secret=SECRET)
    try:
        with RainbowClient(server.address) as client:
            creds = _register(client, ["c1", "c2", "c3", "c4"])
            tokens = [(name, token) for name, (token, _) in creds.items()]
            spec = simple_jobspec(1, 1, ["app"])
            chosen = [client.submit(spec, tokens, select_algorithm="spread").cluster for _ in range(12)]
            assert collections.Counter(chosen) == {"c1": 3, "c2": 3, "c3": 3, "c4": 3}
            # accepted jobs are still in hand: the count does not drop when a cluster accepts
            c1_token, c1_secret = creds["c1"]
            ids = [job.id for job in client.receive("c1", c1_secret)]
            client.accept("c1", c1_secret, ids)
            result = client.submit(spec, tokens, select_algorithm="spread")
            assert result.cluster == "c1", result.reasons
            assert result.reasons["c2"].endswith("behind c1") and "3 jobs assigned, not finished" in result.reasons["c2"]
    finally:
        server.stop()


def test_site_preset_from_the_config_and_explain_table(tmp_path):
    config = tmp_path / "server.yaml"
    config.write_text(yaml.safe_dump({
        "scheduler": {"algorithms": {"selection": {"name": "balanced"}}},
        "selection_presets": {"balanced": {"description": "free share first, price second",
                                           "scorers": {"least-loaded": 2, "cheapest": 1}}},
    }, sort_keys=False))
    server = start_server(tmp_path, secret=SECRET, extra_args=["--config-path", str(config)])
    try:
        with RainbowClient(server.address) as client:
            creds = _register(client, ["big", "small"])
            client.update_state("big", creds["big"][1], {"cores_free": 4, "cost_per_node_hour": 1})
            client.update_state("small", creds["small"][1], {"cores_free": 12, "cost_per_node_hour": 4})
            spec = simple_jobspec(1, 2, ["app"])
            tokens = [(name, token) for name, (token, _) in creds.items()]
            result = client.submit(spec, tokens)  # the server's default: the site preset
            assert result.cluster == "small", result.reasons
            assert result.reasons["small"].startswith("balanced score 175.0: least-loaded 75.0 x2")
            probe = client.submit(spec, tokens, satisfy_only=True)
            assert probe.clusters == ["small", "big"] and "behind small" in probe.reasons["big"]

        cfg = tmp_path / "client.yaml"
        cfg.write_text(yaml.safe_dump({"host": server.address, "clusters": [
            {"name": name, "token": token} for name, (token, _) in creds.items()]}))
        done = CliRunner().invoke(main, ["submit", "--config-path", str(cfg), "--select-algorithm", "first-fit",
                                         "--explain", "--nodes", "1", "--tasks", "1", "--", "app"],
                                  catch_exceptions=False)
        assert done.exit_code == 0, done.output
        lines = done.output.splitlines()
        assert lines[0].startswith("submitted job ") and lines[0].endswith("to cluster big")
        assert lines[1] == "  big: selected: first-fit score 100.0: first-fit 100.0 x1 (registered 1st of 2); " \
                           "chosen, 50.0 ahead of small"
        assert lines[2] == "  small: first-fit score 50.0: first-fit 50.0 x1 (registered 2nd of 2); 2nd, 50.0 behind big"
        bad = CliRunner().invoke(main, ["submit", "--config-path", str(cfg), "--select-algorithm", "least-loaded",
                                        "--select-option", "weight.speed=1", "--nodes", "1", "--tasks", "1", "--",
                                        "app"])
        assert bad.exit_code == 1 and "select_options.weight.speed: unknown scorer" in bad.output
    finally:
        server.stop()
