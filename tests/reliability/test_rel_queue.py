"""One cluster with a deep queue: listed in pages without the server's memory growing with the queue, then drained
by eight pollers racing to accept the same jobs; every job must be accepted exactly once and none lost.
"""
from __future__ import annotations

import threading

import pytest

from rainbow.client import RainbowClient

from .rel_env import pick
from .rel_graphs import cluster_graph, nextgen_jobspec, render
from .rel_load import Ledger, Poller, PollBooks, Submitter, join_all, register, rss_mib
from .rel_store import table_rows

from serverutil import start_server  # noqa: E402

JOBS = 10_000
# PostgreSQL's variant checks the same books on a shorter queue: each job costs it a network round trip more.
JOBS_BY_STORE = {"sqlite": JOBS, "postgresql": 2_500}
SUBMITTERS = 4
POLLERS = 8
PAGE = 250

pytestmark = [pytest.mark.soak, pytest.mark.timeout(pick(300, 900))]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def queue(request, tmp_path_factory):
    """A server whose cluster `deep` has JOBS pending jobs, once on each store backend; yields (server, secret,
    {id: name})."""
    db = request.getfixturevalue("postgres_server").new_database() if request.param == "postgresql" else None
    server = start_server(tmp_path_factory.mktemp("queue"), db=db)
    total = JOBS_BY_STORE[request.param]
    try:
        with RainbowClient(server.address) as client:
            token, secret = register(client, "deep", server.secret, cluster_graph("deep", nodes=4, cores=8))
        ledger = Ledger()
        stop = threading.Event()
        jobspec = render(nextgen_jobspec(nodes=1, cores=2, command=["true"]), "json")
        per = total // SUBMITTERS
        subs = [Submitter(lambda: server.address, [("deep", token)], jobspec, f"q{i}", ledger, stop, limit=per)
                for i in range(SUBMITTERS)]
        for sub in subs:
            sub.start()
        join_all(subs, timeout=600)
        assert not ledger.refused and not ledger.unanswered, "submits failed while filling the queue"
        assert len(ledger.confirmed) == total
        jobs = {jobid: name for name, jobid in ledger.confirmed.items()}
        assert len(jobs) == total, "SubmitJob answered the same id for two jobs"
        yield server, secret, jobs
    finally:
        if server.running:
            server.stop()


def test_pending_jobs_listed_in_pages(queue, figures):
    server, secret, jobs = queue
    before = rss_mib(server.pid)
    peak = before
    seen: list[int] = []
    pages = 0
    with RainbowClient(server.address) as client:
        after = 0
        while True:
            page = client.list_jobs("deep", secret, state="pending", after_id=after, limit=PAGE)
            pages += 1
            assert len(page.jobs) <= PAGE
            assert all(job.state == "pending" and job.cluster == "deep" for job in page.jobs)
            seen.extend(job.id for job in page.jobs)
            peak = max(peak, rss_mib(server.pid))
            if not page.next_after_id:
                break
            assert page.next_after_id > after, "ListJobs paging went backwards"
            after = page.next_after_id
            assert pages <= len(jobs) // PAGE + 2, "ListJobs never reached the last page"
        default_page = client.list_jobs("deep", secret, state="pending")
        first = client.receive("deep", secret, max_jobs=50)
    assert seen == sorted(jobs), "pages skipped, repeated or reordered jobs"
    assert 0 < len(default_page.jobs) < len(jobs), "a page without a limit must still be a page"
    assert [job.id for job in first] == sorted(jobs)[:50], "ReceiveJobs(maxJobs=50) must give the oldest 50"
    assert {job.name for job in first} == {jobs[job.id] for job in first}
    growth = peak - before
    figures.add(jobs=len(seen), pages=pages, page_size=PAGE, default_page=len(default_page.jobs),
                rss_before_mib=round(before, 1), rss_peak_mib=round(peak, 1))
    # Paging must cost one page, not the queue: 10,000 jobs here are ~2 MiB of jobspec text in all.
    assert growth < 64, f"server memory grew {growth:.0f} MiB while listing pages"


def test_eight_pollers_accept_every_job_exactly_once(queue, figures):
    server, secret, jobs = queue
    books = PollBooks()
    stop = threading.Event()
    pollers = [Poller(server.address, "deep", secret, books, stop, batch=32, take=4, seed=i) for i in range(POLLERS)]
    for poller in pollers:
        poller.start()
    join_all(pollers, timeout=600)

    taken: dict[int, str] = {}
    doubles = []
    for who, ids in books.accepted.items():
        for jobid in ids:
            if jobid in taken:
                doubles.append((jobid, taken[jobid], who))
            taken[jobid] = who
    assert not doubles, f"jobs accepted by two pollers: {doubles[:5]}"
    lost = sorted(set(jobs) - set(taken))
    assert not lost, f"{len(lost)} jobs never accepted, e.g. {lost[:5]}"
    assert set(taken) == set(jobs), "pollers accepted ids that were never submitted"

    with RainbowClient(server.address) as client:
        assert client.receive("deep", secret) == []
        assert client.accept("deep", secret, sorted(jobs)[:100]) == "RESULT_TYPE_PARTIAL"
    rows = table_rows(server.db_path, "SELECT state, COUNT(*) FROM jobs WHERE cluster = 'deep' GROUP BY state")
    assert dict(rows) == {"accepted": len(jobs)}
    shares = sorted(len(ids) for ids in books.accepted.values())
    figures.add(jobs=len(taken), pollers=POLLERS, receives=books.receives, accepts=books.accepts,
                lost_races=books.contended, min_share=shares[0], max_share=shares[-1])
