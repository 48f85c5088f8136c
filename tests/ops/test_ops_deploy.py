"""deploy/: the wheel the Containerfile installs builds from exactly what the Containerfile copies, installs without
an index, serves, and answers the image's health check; the systemd units pass `systemd-analyze verify`; the
example configs are valid config files."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from rainbow.config import read_config_file
from rainbow.server.launch import ServedProcess

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _containerfile() -> list[str]:
    """Its instructions, one per entry, with continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (DEPLOY / "Containerfile").read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_containerfile_shape():
    lines = _containerfile()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) == 2 and all("slim" in line for line in stages)
    final = lines[lines.index(stages[1]):]
    user = [line for line in final if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("root", "0")
    health = next(line for line in final if line.startswith("HEALTHCHECK "))
    assert '"rainbow", "health"' in health
    assert any(line.startswith("VOLUME ") and "/var/lib/rainbow" in line for line in final)
    assert any("RAINBOW_DB=/var/lib/rainbow/" in line for line in final)


def _site_packages(python: Path) -> Path:
    done = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True)
    return Path(done.stdout.strip())


def test_the_image_package_builds_installs_serves_and_answers_the_health_check(tmp_path):
    # Exactly what the build stage copies.
    source = tmp_path / "src"
    source.mkdir()
    lines = _containerfile()
    final_stage = next(i for i, line in enumerate(lines) if i and line.startswith("FROM "))
    for line in lines[:final_stage]:
        if line.startswith("COPY ") and "--from" not in line:
            *items, _ = shlex.split(line)[1:]
            for item in items:
                path = REPO / item
                (shutil.copytree(path, source / item, ignore=shutil.ignore_patterns("__pycache__"))
                 if path.is_dir() else shutil.copy2(path, source / item))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RAINBOW_", "PIP_"))}
    wheels = tmp_path / "wheels"
    built = subprocess.run([str(Path(sysconfig.get_paths()["scripts"]) / "python"), "-m", "pip", "wheel", "--quiet",
                            "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(wheels),
                            str(source)], capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel, = wheels.glob("rainbow_compspec-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("rainbow/server/web.py", "rainbow/data/store-schema.yaml", "rainbow/data/config-env.yaml",
                   "rainbow/schemas/config.json", "rainbow/protos/jobs_pb2.py", "compspec/extractors/cpuinfo.py"):
        assert needed in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    (_site_packages(python) / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                              "--disable-pip-version-check", str(wheel)], capture_output=True, text=True, env=env,
                             timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    rainbow = env_dir / "bin" / "rainbow"

    state = tmp_path / "state"
    state.mkdir()
    server = ServedProcess([str(rainbow), "serve", "--port", "0", "--http-port", "0", "--db",
                            str(state / "rainbow.db")], state, env={**env, "RAINBOW_LOG_FORMAT": "json"})
    with server:
        server.launch().wait_serving()
        assert server.http_url
        check = subprocess.run([str(rainbow), "health", "--host", server.address, "--timeout", "5"],
                               capture_output=True, text=True, env=env, timeout=60)
        assert check.returncode == 0 and check.stdout.strip() == "SERVING", check.stderr
    assert server.returncode == 0
    assert server.stderr().lstrip().startswith("{")  # the image's RAINBOW_LOG_FORMAT=json

    verify = shutil.which("systemd-analyze")
    if verify:  # the units again, now with a rainbow that exists at their ExecStart
        _verify_units(verify, tmp_path / "units", rainbow)


def _verify_units(tool: str, folder: Path, rainbow: Path) -> None:
    folder.mkdir()
    copies = []
    for unit in UNITS:
        copy = folder / unit.name
        copy.write_text(unit.read_text().replace("/usr/local/bin/rainbow", str(rainbow)))
        copies.append(str(copy))
    done = subprocess.run([tool, "verify", *copies], capture_output=True, text=True, timeout=120)
    ours = [line for line in done.stderr.splitlines() if any(Path(c).name in line for c in copies)]
    assert done.returncode == 0 and not ours, done.stderr


def test_units_verify_and_are_hardened(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    assert [u.name for u in UNITS] == ["rainbow-agent.service", "rainbow-server.service"]
    _verify_units(tool, tmp_path / "units", Path(sysconfig.get_paths()["scripts"]) / "rainbow")
    for unit in UNITS:
        text = unit.read_text()
        for needed in ("Restart=on-failure", "StateDirectory=", "NoNewPrivileges=yes", "ProtectSystem=strict"):
            assert needed in text, f"{unit.name}: {needed}"
        assert "DynamicUser=yes" in text or re.search(r"^User=(?!root)\w+", text, re.M), unit.name
    assert "rainbow serve" in (DEPLOY / "systemd" / "rainbow-server.service").read_text()
    assert "rainbow agent" in (DEPLOY / "systemd" / "rainbow-agent.service").read_text()


def test_example_configs_are_valid():
    for example in sorted(DEPLOY.glob("*.example.yaml")):
        read_config_file(example)  # raises FormatError naming the field
