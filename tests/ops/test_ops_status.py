"""`rainbow status` and `rainbow health` against the demo's site, as a user runs them."""
from __future__ import annotations

import json

from .conftest import VIEWER_TOKEN, rainbow_cli


def test_status_text(demo_site):
    done = rainbow_cli("status", "--host", demo_site.address, "--viewer-token", VIEWER_TOKEN)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("clusters: 2\n")
    assert "rocky-cpu\t4\t" in out and "nodes_free=20" in out and "ubuntu-gpu\t5\t" in out
    assert "jobs: accepted 1, closed 0, pending 1" in out
    assert "-> rocky-cpu (pending): random: the only cluster that fits" in out
    assert "ubuntu-gpu: needs 2 nodes" in out
    for secret in demo_site.credentials:
        assert secret not in out


def test_status_json_and_job(demo_site):
    job = demo_site.jobs["lammps-rocky9"]
    done = rainbow_cli("status", "--host", demo_site.address, "--secret", demo_site.secret, "--json", "--job",
                       str(job), "--assignments", "1")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [c["name"] for c in report["clusters"]] == ["rocky-cpu", "ubuntu-gpu"]
    assert report["clusters"][0]["subsystems"] == ["io"] and report["clusters"][0]["last_report"].endswith("Z")
    assert report["jobs_by_state"] == {"accepted": 1, "closed": 0, "pending": 1}
    assert [a["job"] for a in report["assignments"]] == [job]
    assert report["job"]["id"] == job and report["job"]["assignment"]["cluster"] == "rocky-cpu"
    assert set(report["job"]["assignment"]["others"]) == {"ubuntu-gpu"}


def test_status_refusals_are_one_line(demo_site):
    wrong = rainbow_cli("status", "--host", demo_site.address, "--viewer-token", "not-it")
    assert wrong.returncode == 1 and "PERMISSION_DENIED" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    none = rainbow_cli("status", "--host", demo_site.address)
    assert none.returncode == 2 and "no credential given" in none.stderr
    missing = rainbow_cli("status", "--host", demo_site.address, "--viewer-token", VIEWER_TOKEN, "--job", "4242")
    assert missing.returncode == 1 and "job 4242: not on record" in missing.stderr


def test_health(demo_site):
    done = rainbow_cli("health", "--host", demo_site.address)
    assert done.returncode == 0 and done.stdout.strip() == "SERVING"
    gone = rainbow_cli("health", "--host", "127.0.0.1:1", "--timeout", "2")
    assert gone.returncode == 1 and len(gone.stderr.strip().splitlines()) == 1
