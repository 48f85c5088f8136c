"""The operator views' parts without a server process: escaping on the page, credentials from headers, labels that
cannot grow, store timing, the assignment reasons, JSON log lines, and the HTTP port in this process."""
from __future__ import annotations

import base64
import io
import json
import logging
import urllib.error
import urllib.request

import pytest
from prometheus_client import generate_latest

from rainbow.logformat import JsonFormatter, configure_logging
from rainbow.server.metrics import OTHER_METHOD, MetricsInterceptor, ServerMetrics, TimedStore
from rainbow.server.overview import AssignmentView, ClusterView, Overview, build_overview, find_job
from rainbow.server.scheduler import Scheduler, assignment_reasons
from rainbow.server.statuspage import render
from rainbow.server.web import WebOptions, WebServer, given_credential, is_loopback
from rainbow.store import Assignment, open_store

EVIL = '<script>alert("x")</script>&\'"'


def test_everything_on_the_page_is_escaped():
    view = Overview(generated=1.0e9, clusters=[ClusterView(EVIL, 1, 2, 0, [EVIL], 1.0e9, None, {EVIL: EVIL})],
                    jobs_by_state={"pending": 1}, oldest_pending=None,
                    assignments=[AssignmentView(1, EVIL, EVIL, "pending", "random", EVIL, {EVIL: EVIL}, 1.0e9)])
    page = render(view, lookup=EVIL, job=None)
    assert "<script>" not in page and "<script" not in page.lower().replace("&lt;script", "")
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#x27;&quot;" in page
    assert render(view, error=EVIL).count("&lt;script&gt;") >= 1


def test_credentials_from_headers():
    basic = "Basic " + base64.b64encode(b"anyone:tok:with:colons").decode()
    assert given_credential(basic) == "tok:with:colons"
    assert given_credential("Bearer  abc ") == "abc"
    assert given_credential("Basic !!!not-base64") == ""
    assert given_credential("Digest x") == "" and given_credential(None) == ""
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.1") and is_loopback("[::1]") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3") and not is_loopback("example.org")
    assert WebOptions(host="0.0.0.0").needs_credential and not WebOptions().needs_credential
    assert WebOptions(auth="always").needs_credential


def test_rpc_method_labels_are_bounded():
    interceptor = MetricsInterceptor(ServerMetrics(), ["pkg.Known"])
    assert interceptor._method("/pkg.Known/Call") == "/pkg.Known/Call"
    assert interceptor._method("/pkg.Unknown/Call") == OTHER_METHOD
    assert interceptor._method("garbage") == OTHER_METHOD


def test_timed_store_times_operations_and_passes_the_rest(tmp_path):
    metrics = ServerMetrics()
    store = TimedStore(open_store(tmp_path / "r.db"), metrics)
    assert store.kind == "sqlite" and store.cluster_names() == []
    store.register_cluster("red", "t", "s", "{}")
    store.close()
    text = generate_latest(metrics.registry).decode()
    assert 'rainbow_store_operation_duration_seconds_count{operation="cluster_names"} 1.0' in text
    assert 'rainbow_store_operation_duration_seconds_count{operation="register_cluster"} 1.0' in text
    assert 'operation="close"' not in text


def test_assignment_reasons():
    why = assignment_reasons("random", "a", ["a", "b", "c", "d"], ["a", "c", "d"], ["a", "c"],
                             {"b": "needs 4 gpu"}, None)
    assert why.reason == "random: picked among 2 eligible (3 fit)"
    assert why.others == {"b": "needs 4 gpu", "c": "fits; selection random chose a",
                          "d": "fits, but selection random left it out"}
    assert assignment_reasons("random", "a", ["a"], ["a"], ["a"], {}, None).reason == \
        "random: the only cluster that fits"
    assert assignment_reasons("constraint", "a", ["a", "b"], ["a", "b"], ["a", "b"], {}, 2).reason == \
        "constraint: priority 2 ranked it first of 2 eligible (2 fit)"


def test_json_log_lines():
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    try:
        log = logging.getLogger("rainbow.test")
        log.info("two\nlines %s", "here")
        try:
            raise ValueError("bad")
        except ValueError:
            log.error("failed", exc_info=True)
    finally:
        configure_logging("text")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    first, second = map(json.loads, lines)
    assert first["message"] == "two\nlines here" and first["level"] == "info" and first["logger"] == "rainbow.test"
    assert second["error"] == "ValueError: bad"
    assert JsonFormatter().format(logging.makeLogRecord({"msg": "x"})).startswith("{")


@pytest.fixture
def scheduler(tmp_path):
    store = open_store(tmp_path / "r.db")
    yield Scheduler(store, registration_secret="reg", viewer_token_hash=None)
    store.close()


def test_overview_and_lookup_in_process(scheduler, tmp_path):
    store = scheduler.store
    store.register_cluster("red", "t", "s", "{}")
    store.set_state("red", json.dumps({"nodes_free": 3, "nested": {"x": 1}, "name": "n" * 200}))
    job = store.add_job("red", "j", "spec", assignment=Assignment("random", "because", {}))
    view = build_overview(scheduler)
    red = view.clusters[0]
    assert (red.name, red.nodes, red.subsystems) == ("red", 0, [])  # its "{}" graph is not matchable
    assert red.state == {"nodes_free": "3", "name": "n" * 80}
    assert view.jobs_by_state == {"pending": 1, "accepted": 0, "closed": 0}
    assert find_job(scheduler, job).assignment.reason == "because" and find_job(scheduler, job + 1) is None
    assert scheduler.may_view("reg") and not scheduler.may_view("") and not scheduler.may_view("other")


def test_web_server_in_process(scheduler):
    metrics = ServerMetrics()
    metrics.watch_store(scheduler.store)
    web = WebServer(scheduler, metrics.registry, WebOptions(port=0))
    web.start()
    try:
        with urllib.request.urlopen(web.url + "metrics", timeout=10) as answer:
            assert "rainbow_clusters_registered 0.0" in answer.read().decode()
        with urllib.request.urlopen(web.url + "?job=abc", timeout=10) as answer:
            assert "is not a job id" in answer.read().decode()
        request = urllib.request.Request(web.url, method="POST", data=b"x")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=10)
        assert err.value.code == 405
    finally:
        web.stop()
