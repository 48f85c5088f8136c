"""The status page in a real headless Chromium: it loads, lists the demo's clusters and jobs and why they went
where they went, finds a job by id, and never shows a credential. A screenshot is kept in tests/artifacts/."""
from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from .conftest import ARTIFACTS


def test_page_lists_clusters_jobs_and_assignments(browser, demo_site, record_property):
    browser.get(demo_site.url)
    assert browser.title == "rainbow status"
    clusters = browser.find_element(By.ID, "clusters")
    names = [cell.text for cell in clusters.find_elements(By.CSS_SELECTOR, "td.cluster-name")]
    assert names == ["rocky-cpu", "ubuntu-gpu"]
    rows = {row.find_element(By.CSS_SELECTOR, "td").text: [c.text for c in row.find_elements(By.CSS_SELECTOR, "td")]
            for row in clusters.find_elements(By.CSS_SELECTOR, "tbody tr")}
    nodes, cores, gpus, subsystems = rows["rocky-cpu"][1:5]
    assert nodes == "4" and int(cores) > 0 and gpus == "0" and subsystems == "io"
    assert "nodes_free: 20" in rows["rocky-cpu"][7] and "UTC" in rows["rocky-cpu"][6]
    assert rows["ubuntu-gpu"][1] == "5" and int(rows["ubuntu-gpu"][3]) >= 8  # 2 x 4 H100, plus this machine

    jobs = {row.find_elements(By.TAG_NAME, "td")[0].text: row.find_elements(By.TAG_NAME, "td")[1].text
            for row in browser.find_elements(By.CSS_SELECTOR, "#jobs tbody tr")}
    assert jobs == {"pending": "1", "accepted": "1", "closed": "0"}
    assignments = browser.find_elements(By.CSS_SELECTOR, "#assignments tbody tr")
    assert len(assignments) == 2
    first = [c.text for c in assignments[-1].find_elements(By.CSS_SELECTOR, ":scope > td")]
    assert first[1:4] == ["lammps-rocky9", "rocky-cpu", "accepted"]
    assert first[4].startswith("random:")
    assert "ubuntu-gpu" in first[5] and "intel-mpi" in first[5]  # why the other cluster did not fit

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    assert browser.save_screenshot(str(shot))
    record_property("screenshot", str(shot))
    print(f"screenshot: {shot}")

    source = browser.page_source
    for secret in demo_site.credentials:
        assert secret and secret not in source
    # No script and nothing fetched from elsewhere: the page is one document.
    assert not browser.find_elements(By.TAG_NAME, "script")
    assert all(link.get_attribute("href").startswith(demo_site.url)
               for link in browser.find_elements(By.TAG_NAME, "a"))


def look_up(browser, text: str):
    """Type `text` into the lookup form, submit it, and wait for the new page (the old one goes stale)."""
    old = browser.find_element(By.TAG_NAME, "html")
    box = browser.find_element(By.ID, "job-id")
    box.clear()
    box.send_keys(text)
    browser.find_element(By.ID, "find").click()
    WebDriverWait(browser, 30).until(expected_conditions.staleness_of(old))
    return WebDriverWait(browser, 30).until(
        expected_conditions.presence_of_element_located((By.ID, "lookup-result")))


def test_job_lookup(browser, demo_site):
    pending = demo_site.jobs["lammps-rocky9"]
    browser.get(demo_site.url)
    found = look_up(browser, str(pending))
    assert f"Job {pending}" in found.text and "pending on cluster rocky-cpu" in found.text
    assert "Why rocky-cpu: random:" in found.text and "ubuntu-gpu" in found.text
    assert browser.current_url.endswith(f"/?job={pending}")

    assert look_up(browser, "99999").text == "No job 99999 on record."

    browser.get(demo_site.url + "?job=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert "is not a job id" in browser.find_element(By.ID, "lookup-result").text
    assert not browser.find_elements(By.TAG_NAME, "script")
    for secret in demo_site.credentials:
        assert secret not in browser.page_source
