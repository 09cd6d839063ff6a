# `make preview` and `make test` work on a fresh machine with Python >= 3.11: they create (or reuse) the
# project's virtual environment .venv, the one Pulumi.yaml names for the real Pulumi CLI too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
STACK ?= dev

.PHONY: setup setup-test preview render test e2e e2e-build lock clean bench-setup bench

# Only hashed wheels can be installed: --only-binary=:all: (a locked wheel whose hash differs is refused, never
# built from an sdist instead), and the package itself is built with the locked setuptools
# (requirements-build.lock, --no-build-isolation), never one fetched without a hash (issue 31).
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

$(STAMP): requirements.lock requirements-build.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "cluster-tls needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --require-hashes --only-binary=:all: -r requirements.lock -r requirements-build.lock
	$(PIP) --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The test tools (pytest, ruff, zizmor, ...) only for `make test`: the main job installs what it runs (issue 20).
$(TEST_STAMP): $(STAMP) requirements-test.lock
	$(PIP) --require-hashes --only-binary=:all: -r requirements-test.lock
	touch $(TEST_STAMP)

setup: $(STAMP)

setup-test: $(TEST_STAMP)

preview: setup
	$(BIN)/cluster-tls preview --stack $(STACK)

render: setup
	$(BIN)/cluster-tls render --stack $(STACK) --out rendered/$(STACK)

test: setup-test
	$(BIN)/python -m pytest

# The real-engine tier: builds the Pulumi CLI, the Kubernetes provider, kube-apiserver, etcd and cert-manager from
# Go modules (tools/e2e/build.sh, cached in ~/.cache/cluster-tls-e2e), then runs tests/e2e against them.
e2e-build:
	tools/e2e/build.sh

# Pulumi's state, the stacks' copies and the cluster live in one temporary folder, removed afterwards.
e2e: setup-test
	bin=$$(tools/e2e/build.sh) && tmp=$$(mktemp -d) && \
	  { CLUSTER_TLS_E2E=1 CLUSTER_TLS_E2E_BIN=$$bin TMPDIR=$$tmp $(BIN)/python -m pytest -v --basetemp=$$tmp/pytest tests/e2e; \
	    rc=$$?; rm -rf $$tmp; exit $$rc; }

# Re-resolve the pinned versions, each with the sha256 of its files on the index (needs network to PyPI); commit
# the result. Installs use --require-hashes: a file that is not the one locked is refused.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --all | grep -v '^\(pip\|setuptools\)==' > .lock-all
	.lock-venv/bin/python -m pip install --quiet --dry-run --ignore-installed --report .lock-report.json -c .lock-all .
	.lock-venv/bin/python tools/split_lock.py .lock-all .lock-report.json requirements.lock requirements-test.lock
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade 'setuptools>=77'
	.lock-venv/bin/python -c 'import setuptools; print(f"setuptools=={setuptools.__version__}")' > requirements-build.lock
	.lock-venv/bin/python tools/hash_lock.py requirements.lock requirements-test.lock requirements-build.lock
	.lock-venv/bin/python tools/example_requirements.py
	rm -f .lock-all .lock-report.json
	rm -rf .lock-venv

# Benchmarks (not part of the tests): cdk8s for the comparison lives in its own environment.
bench-setup: setup
	test -x .venv-cdk8s/bin/python || $(PYTHON) -m venv .venv-cdk8s
	.venv-cdk8s/bin/python -m pip install --quiet --disable-pip-version-check cdk8s==2.70.115 matplotlib==3.10.7

# Scratch for the fleet's renders: /dev/shm where there is one (see benchmarks/fleet.py: on these sandboxes a new
# file in /tmp costs ~0.9 ms, which would time the file system rather than the renderers).
BENCH_TMPDIR ?= $(shell test -d /dev/shm && echo /dev/shm || echo /tmp)

bench: bench-setup
	TMPDIR=$(BENCH_TMPDIR) $(BIN)/python benchmarks/fleet.py --sizes 100,1000,3000,10000 --rounds 3 --json docs/benchmarks/fleet.json
	$(BIN)/python benchmarks/tls_cost.py --json docs/benchmarks/tls_cost.json
	$(BIN)/python benchmarks/preview_process.py --json docs/benchmarks/preview_process.json
	$(BIN)/python benchmarks/large_stack_file.py --json docs/benchmarks/large_stack_file.json
	TMPDIR=$(BENCH_TMPDIR) $(BIN)/python benchmarks/fleet_review.py --json docs/benchmarks/fleet_review.json
	.venv-cdk8s/bin/python benchmarks/plot.py docs/benchmarks

clean:
	rm -rf $(VENV) .venv-cdk8s rendered
