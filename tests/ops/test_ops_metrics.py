"""/metrics on a live server after the demo's scenario: Prometheus naming, the figures the scenario must give, the
same shared figures from a second server on the same store, and bounded labels."""
from __future__ import annotations

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from serverutil import start_server

from .conftest import http_get

SUBMIT = "/convergedcomputing.org.grpc.v1.RainbowScheduler/SubmitJob"


def scrape(url: str) -> dict[str, dict[tuple, float]]:
    """family name -> {(sample name, sorted labels): value}, from a live /metrics."""
    status, text, headers = http_get(url.rstrip("/") + "/metrics")
    assert status == 200, text
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    out: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        samples = out.setdefault(family.name, {"type": family.type})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(families, family: str, sample: str | None = None, **labels) -> float:
    return families[family][(sample or family, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def metrics(demo_site):
    return scrape(demo_site.url)


def test_names_follow_prometheus_conventions(metrics):
    assert metrics, "no metrics"
    for name, samples in metrics.items():
        assert name.startswith("rainbow_") and not name.startswith("rainbow_rainbow"), name
        kind = samples["type"]
        if kind == "counter":
            assert any(key[0] == name + "_total" for key in samples if key != "type"), name
        if kind == "histogram":
            assert name.endswith("_seconds"), name
    expected = {"rainbow_jobs_submitted": "counter", "rainbow_jobs": "gauge", "rainbow_clusters_registered": "gauge",
                "rainbow_cluster_last_report_age_seconds": "gauge", "rainbow_match_duration_seconds": "histogram",
                "rainbow_selection_duration_seconds": "histogram", "rainbow_assignments": "counter",
                "rainbow_store_operation_duration_seconds": "histogram", "rainbow_rpc_requests": "counter",
                "rainbow_rpc_duration_seconds": "histogram", "rainbow_oldest_pending_job_age_seconds": "gauge",
                "rainbow_store_up": "gauge"}
    assert {name: metrics[name]["type"] for name in expected if name in metrics} == expected


def test_the_scenario_figures(metrics, demo_site):
    assert value(metrics, "rainbow_clusters_registered") == 2
    assert value(metrics, "rainbow_store_up") == 1
    assert value(metrics, "rainbow_jobs", state="pending") == 1
    assert value(metrics, "rainbow_jobs", state="accepted") == 1
    assert value(metrics, "rainbow_oldest_pending_job_age_seconds") >= 0
    silent = {key[1][0][1]: v for key, v in metrics["rainbow_cluster_last_report_age_seconds"].items()
              if key != "type"}
    assert sorted(silent) == ["rocky-cpu", "ubuntu-gpu"] and all(v >= 0 for v in silent.values())
    submitted = "rainbow_jobs_submitted_total"
    assert value(metrics, "rainbow_jobs_submitted", submitted, result="queued") == 2
    assert value(metrics, "rainbow_jobs_submitted", submitted, result="no_fit") == 1
    assert value(metrics, "rainbow_jobs_submitted", submitted, result="satisfy_only") == 3
    assert value(metrics, "rainbow_assignments", "rainbow_assignments_total", algorithm="random") == 2
    assert value(metrics, "rainbow_rpc_requests", "rainbow_rpc_requests_total", method=SUBMIT, code="OK") == 5
    assert value(metrics, "rainbow_rpc_requests", "rainbow_rpc_requests_total", method=SUBMIT,
                 code="FAILED_PRECONDITION") == 1
    assert value(metrics, "rainbow_rpc_duration_seconds", "rainbow_rpc_duration_seconds_count", method=SUBMIT,
                 code="OK") == 5
    assert value(metrics, "rainbow_match_duration_seconds", "rainbow_match_duration_seconds_count") >= 2
    assert value(metrics, "rainbow_selection_duration_seconds", "rainbow_selection_duration_seconds_count") == 6
    assert value(metrics, "rainbow_store_operation_duration_seconds",
                 "rainbow_store_operation_duration_seconds_count", operation="add_job") == 2


def test_every_replica_reports_the_shared_figures(demo_site, tmp_path, metrics):
    """A second server on the same store, which served no request, reports the same jobs and clusters."""
    db = demo_site.demo.server.process.workdir / "rainbow.db"
    second = start_server(tmp_path / "second", db=db, secret=None, extra_args=["--http-port", "0"])
    try:
        theirs = scrape(second.http_url)
    finally:
        second.stop()
    for family in ("rainbow_jobs", "rainbow_clusters_registered"):
        assert theirs[family] == metrics[family]
    assert set(theirs["rainbow_cluster_last_report_age_seconds"]) == \
        set(metrics["rainbow_cluster_last_report_age_seconds"])
    assert value(theirs, "rainbow_jobs_submitted", "rainbow_jobs_submitted_total", result="queued") == 0


def test_unknown_methods_share_one_label(demo_site):
    with grpc.insecure_channel(demo_site.address) as channel:
        for i in range(3):
            call = channel.unary_unary(f"/made.up.Service{i}/Method{i}")
            with pytest.raises(grpc.RpcError) as err:
                call(b"", timeout=10)
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    after = scrape(demo_site.url)
    methods = {dict(key[1])["method"] for key in after["rainbow_rpc_requests"] if key != "type"}
    assert "other" in methods and not any("made.up" in m for m in methods)
    assert value(after, "rainbow_rpc_requests", "rainbow_rpc_requests_total", method="other",
                 code="UNIMPLEMENTED") >= 3
