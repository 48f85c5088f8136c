"""docs/migrating.md, for users of the Go client: the job its `submit --nodes 2 --tasks 24` sends (shown in the page)
is refused on 12-core nodes with the reason the page gives, and what the page says to write instead fits."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rainbow.jobspec import simple_jobspec
from rainbow.server.errors import FailedPrecondition
from rainbow.server.scheduler import Scheduler, SelectionConfig
from rainbow.store import open_store

REPO = Path(__file__).resolve().parents[2]
PAGE = (REPO / "docs" / "migrating.md").read_text()
GRAPH = (REPO / "tests" / "data" / "upstream" / "cluster-nodes.json").read_text()  # 3 nodes of 12 cores


def _go_jobspec() -> dict:
    blocks = [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", PAGE, re.S)]
    found = [b for b in blocks if isinstance(b, dict) and "task-resources" in b.get("resources", {})]
    assert len(found) == 1, "the page shows the Go client's job once"
    return found[0]


@pytest.fixture()
def cluster(tmp_path):
    scheduler = Scheduler(open_store(tmp_path / "r.db"), registration_secret="reg",
                          selection=SelectionConfig("random", {}))
    red = scheduler.register("red", "reg", GRAPH)
    return scheduler, [("red", red.token)]


def test_the_go_clients_job_is_refused_with_the_reason_shown(cluster):
    scheduler, tokens = cluster
    job = _go_jobspec()
    with pytest.raises(FailedPrecondition) as refused:
        scheduler.submit(yaml.safe_dump(job), tokens)
    reason = re.search(r"says why: `([^`]+)`", " ".join(PAGE.split())).group(1)
    assert reason in str(refused.value)


def test_what_the_page_says_to_write_instead_fits(cluster):
    scheduler, tokens = cluster
    job = _go_jobspec()
    job["resources"]["task-resources"]["with"][0]["with"][0]["count"] = 12  # Go: submit --nodes 2 --tasks 12
    assert scheduler.submit(yaml.safe_dump(job), tokens, satisfy_only=True).clusters == ["red"]
    ours = simple_jobspec(2, 24, ["lmp"])  # rainbow submit --nodes 2 --tasks 24 -- lmp
    assert scheduler.submit(yaml.safe_dump(ours), tokens, satisfy_only=True).clusters == ["red"]
