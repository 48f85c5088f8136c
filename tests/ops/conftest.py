"""The operator views' fixtures: the demo's site left running behind a server with an HTTP port, and one headless
Chromium for the whole run (Debian chromium and chromium-driver; .ci/run installs them)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rainbow import demo as demo_module

VIEWER_TOKEN = "viewer-token-for-the-ops-tests"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
_LAUNCH = "import sys; from rainbow.cli import main; sys.exit(main())"


@dataclass
class DemoSite:
    """The demo's clusters and jobs on a live server: its addresses and every credential it handed out."""

    demo: demo_module.Demo
    address: str
    url: str
    secret: str
    jobs: dict[str, int] = field(default_factory=dict)  # job name -> id (the last one queued under that name)

    @property
    def credentials(self) -> list[str]:
        """Every secret string of the site: none of them may ever appear on the page."""
        found = [self.secret, VIEWER_TOKEN]
        for token, secret in self.demo.credentials.values():
            found += [token, secret]
        return found

    def get(self, path: str, credential: str | None = None) -> tuple[int, str, dict[str, str]]:
        return http_get(self.url.rstrip("/") + path, credential)


def http_get(url: str, credential: str | None = None, *, bearer: bool = False, context=None
             ) -> tuple[int, str, dict[str, str]]:
    """GET `url` (optionally with a credential as HTTP Basic or Bearer); status, body and headers."""
    import base64
    import urllib.error

    request = urllib.request.Request(url)
    if credential is not None:
        value = (f"Bearer {credential}" if bearer
                 else "Basic " + base64.b64encode(f"operator:{credential}".encode()).decode())
        request.add_header("Authorization", value)
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as answer:
            return answer.status, answer.read().decode(), dict(answer.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def rainbow_cli(*args: str) -> subprocess.CompletedProcess:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAINBOW_")}
    return subprocess.run([sys.executable, "-c", _LAUNCH, *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture(scope="session")
def demo_site(tmp_path_factory):
    """The demo's scenario played against a server with an HTTP port and a viewer token, left running: two clusters
    with state, one job accepted, one pending, one refused for want of a fitting cluster."""
    work = tmp_path_factory.mktemp("demo-site")
    scenario = demo_module.load_scenario()
    demo = demo_module.Demo(work, scenario)
    demo.server.process.command += ["--http-port", "0", "--viewer-token", VIEWER_TOKEN]
    try:
        demo.start_server()
        this_node = demo.extract_this_node()
        for cluster in scenario["clusters"]:
            demo.build_cluster(cluster, this_node)
        demo.register()
        demo.attach_io()
        demo.report_state()
        site = DemoSite(demo, demo.server.address, demo.server.process.http_url, demo.server.secret)
        placed = [(job["name"], *demo.submit(job)) for job in scenario["jobs"]]
        for name, cluster, jobid in placed:
            if cluster:
                demo.receive_and_accept(cluster, jobid)
                site.jobs[name + " (accepted)"] = jobid
        first = scenario["jobs"][0]
        site.jobs[first["name"]] = demo.submit(first)[1]  # the same job again, left pending
        yield site
    finally:
        demo.close_client()
        demo.server.stop()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium driven by Selenium for the whole run."""
    if not Path(CHROMEDRIVER).exists() or not (shutil.which("chromium") or shutil.which("chromium-browser")):
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium chromium-driver; .ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                 "--disable-gpu", "--no-first-run", "--disable-extensions"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
