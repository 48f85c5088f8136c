"""The example alert rules in docs/operating.md: valid for Prometheus (promtool, when installed; .ci/run installs
it), firing when they should on made-up series, and using only metrics a live server serves."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .test_ops_metrics import scrape

OPERATING = Path(__file__).resolve().parents[2] / "docs" / "operating.md"
_YAML = re.compile(r"^```yaml\s*\n(.*?)^```\s*$", re.M | re.S)


def rules_text() -> str:
    blocks = [b for b in _YAML.findall(OPERATING.read_text()) if b.lstrip().startswith("groups:")]
    assert len(blocks) == 1, "docs/operating.md should have one rules block"
    return blocks[0]


def rules() -> list[dict]:
    return [rule for group in yaml.safe_load(rules_text())["groups"] for rule in group["rules"]]


def test_the_rules_cover_what_an_operator_needs():
    exprs = {rule["alert"]: rule["expr"] for rule in rules()}
    assert "rainbow_cluster_last_report_age_seconds" in exprs["RainbowClusterSilent"] and \
        "> 600" in exprs["RainbowClusterSilent"]
    assert 'result=~"no_fit' in exprs["RainbowJobsFitNoCluster"]
    assert "rainbow_rpc_requests_total" in exprs["RainbowErrorRate"]
    assert all(rule["annotations"]["summary"] for rule in rules())


def test_every_metric_the_rules_use_is_served(demo_site):
    served = scrape(demo_site.url)
    names = set()
    for family, samples in served.items():
        names |= {key[0] for key in samples if key != "type"}
    used = {name for rule in rules() for name in re.findall(r"\brainbow_[a-z_]+", rule["expr"])}
    assert used and used <= names, used - names


PROMTOOL_TESTS = """
rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'rainbow_cluster_last_report_age_seconds{cluster="red", instance="a"}'
        values: '0+60x20'
      - series: 'rainbow_cluster_last_report_age_seconds{cluster="blue", instance="a"}'
        values: '30x20'
      - series: 'rainbow_jobs_submitted_total{result="no_fit", instance="a"}'
        values: '0+1x40'
      - series: 'rainbow_rpc_requests_total{code="OK", method="m", instance="a"}'
        values: '0+10x40'
      - series: 'rainbow_rpc_requests_total{code="INTERNAL", method="m", instance="a"}'
        values: '0+5x40'
    alert_rule_test:
      - eval_time: 5m
        alertname: RainbowClusterSilent
        exp_alerts: []
      - eval_time: 12m
        alertname: RainbowClusterSilent
        exp_alerts:
          - exp_labels: {cluster: red, severity: warning}
            exp_annotations:
              summary: "Cluster red has not reported its state for 10 minutes"
              description: "Its agent or poller may be down; selection still uses the last state it sent."
      - eval_time: 35m
        alertname: RainbowErrorRate
        exp_alerts:
          - exp_labels: {severity: critical}
            exp_annotations:
              summary: "More than 5% of rainbow requests fail on the server's side"
"""


def test_promtool_checks_and_runs_the_rules(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus; .ci/run installs it)")
    (tmp_path / "rules.yaml").write_text(rules_text())
    checked = subprocess.run([promtool, "check", "rules", str(tmp_path / "rules.yaml")], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0 and "SUCCESS: 6 rules found" in checked.stdout, checked.stdout + checked.stderr
    (tmp_path / "tests.yaml").write_text(PROMTOOL_TESTS)
    tested = subprocess.run([promtool, "test", "rules", "tests.yaml"], capture_output=True, text=True, timeout=60,
                            cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr
