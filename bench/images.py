"""What resolving an image's compatibility artifact costs against a real registry (Debian's docker-registry on a
loopback port), in one process, after imports:

- push: an artifact attached to an image as a referrer (blob uploads, manifest, the referrers tag-schema index);
- cold: resolving the image with an empty cache (image manifest, referrers index, artifact manifest, blob);
- warm by tag: the same with the blob cached (the registry is still asked what the tag names: tags move);
- by digest: a reference by digest with its record cached: no registry request at all;
- offline: a tag with the registry stopped, answered from the cache;
- `compspec artifact show` as a fresh process (imports included), cold.

Prints the median milliseconds of each over --repeat runs. Skips (exit 0) when docker-registry is not installed.

    .venv/bin/python bench/images.py [--repeat 20]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

ARTIFACT = REPO / "tests" / "data" / "upstream" / "artifacts" / "compspec-intel-mpi-rocky-9-amd64.json"


def timed(func, repeat: int) -> float:
    samples = []
    for i in range(repeat):
        start = time.perf_counter()
        func(i)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    import registryutil

    if not registryutil.available():
        print("docker-registry is not installed; nothing measured")
        return 0
    from compspec.oci.artifacts import Resolver
    from images.conftest import push_image

    spec = json.loads(ARTIFACT.read_text())
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        work = Path(tmp)
        registry = registryutil.start_registry(work / "registry")
        try:
            images = [f"{registry.address}/bench/app{i}:v1" for i in range(args.repeat)]
            digests = [push_image(image) for image in images]
            results = {}
            results["push (referrer, tag-schema index)"] = timed(
                lambda i: Resolver(cache_dir=None).push(spec, subject=images[i]), args.repeat)
            results["cold (empty cache)"] = timed(
                lambda i: Resolver(cache_dir=work / f"cold{i}").resolve(images[i]), args.repeat)
            cache = work / "cache"
            for i in range(args.repeat):
                Resolver(cache_dir=cache).resolve(images[i])
                Resolver(cache_dir=cache).resolve(f"{registry.address}/bench/app{i}@{digests[i]}")
            results["warm by tag (blob cached)"] = timed(
                lambda i: Resolver(cache_dir=cache).resolve(images[i]), args.repeat)
            results["by digest (record cached, no request)"] = timed(
                lambda i: Resolver(cache_dir=cache).resolve(f"{registry.address}/bench/app{i}@{digests[i]}"),
                args.repeat)
            command = [str(Path(sys.executable).parent / "compspec"), "artifact", "show", images[0], "--no-cache"]
            results["compspec artifact show, fresh process"] = timed(
                lambda i: subprocess.run(command, check=True, capture_output=True), min(args.repeat, 5))
            registry.stop()
            results["offline (registry stopped, tag from cache)"] = timed(
                lambda i: Resolver(cache_dir=cache).resolve(images[i]), args.repeat)
        finally:
            registry.stop() if registry.process else None
    for name, ms in results.items():
        print(f"{name:45s} {ms:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
