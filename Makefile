# `make preview` and `make test` work on a fresh machine with Python >= 3.11: they create (or reuse) the
# project's virtual environment .venv, the one Pulumi.yaml names for the real Pulumi CLI too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STACK ?= dev

.PHONY: setup preview render test lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "cluster-tls needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

preview: setup
	$(BIN)/cluster-tls preview --stack $(STACK)

render: setup
	$(BIN)/cluster-tls render --stack $(STACK) --out rendered/$(STACK)

test: setup
	$(BIN)/python -m pytest

# Re-resolve the pinned versions (needs network to PyPI); commit the result.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	.lock-venv/bin/python -m pip freeze --exclude-editable --all | grep -v '^\(pip\|setuptools\)==' > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) rendered
