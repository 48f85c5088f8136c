#!/usr/bin/env bash
# Publish the compatibility artifacts of two builds of an application to a registry, then submit a job by image
# name: the server places each where its artifact fits. Run from this folder, with a server running and a config
# file that lists your clusters (see README.md), and a registry at $REGISTRY (default 127.0.0.1:5000).
#
#   ./images.sh                      push the sample Rocky 8 and Rocky 9 artifacts, show them, submit by image
#   REGISTRY=registry.example.org:443 ./images.sh
set -euo pipefail

registry="${REGISTRY:-127.0.0.1:5000}"
image="$registry/lammps"

for build in rocky-8 rocky-9; do
  tag="${build/-/}"
  # compspec-go's convention: the artifact of IMAGE:TAG lives at IMAGE:TAG-compspec. With the image itself in the
  # registry, `--subject $image:$tag` attaches the artifact to it instead (an OCI referrer).
  compspec artifact push "data/artifacts/compspec-intel-mpi-$build-amd64.json" "$image:$tag-compspec"
  compspec artifact show "$image:$tag"
done

for tag in rocky8 rocky9; do
  echo "== $image:$tag"
  rainbow submit --satisfy-only --explain --image "$image:$tag" --nodes 1 -- lmp -in in.lj || true
done
