PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test test-fast demo bench soak protos install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Everything: unit, end-to-end, fuzz (seeded: the same examples every run), reliability in its short variant.
test: $(STAMP)
	$(PY) -m pytest -q

# What to run while editing: no server processes, no reliability runs, no fuzzing (markers: tests/conftest.py).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not e2e and not slow and not fuzz"

demo: $(STAMP)
	$(PY) -m rainbow.demo

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

# The long reliability runs, and the property tests with new random examples each run.
soak: $(STAMP)
	HYPOTHESIS_PROFILE=random RAINBOW_SOAK=1 $(PY) -m pytest -q -s -m "soak or fuzz"

# Regenerate the committed gRPC code from protos/ (needs the dev extra: grpcio-tools).
protos: $(PY)
	$(PY) -m pip install --quiet 'grpcio-tools>=1.85.1'
	$(PY) -m grpc_tools.protoc -I protos --python_out=rainbow/protos --pyi_out=rainbow/protos \
		--grpc_python_out=rainbow/protos protos/rainbow.proto protos/memory.proto protos/jobs.proto protos/bids.proto \
		protos/access.proto
	sed -i -E 's/^import (rainbow|memory|jobs|bids|access)_pb2 as /from . import \1_pb2 as /' rainbow/protos/*_pb2*.py

clean:
	rm -rf $(VENV) build *.egg-info
