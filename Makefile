# Two entry points (see README): `make demo` runs the product on embedded engines,
# `make test` runs lint, type checks and the test suite. Both bootstrap what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest lock clean

# DEMO_ARGS: options of `emr demo`, e.g. make demo DEMO_ARGS="--patients 5000 --api-port 8080"
demo: $(STAMP)
	$(VENV)/bin/emr demo $(DEMO_ARGS)

test: lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Two workers (the machine's two cores); each test file stays on one of them, so a module's
# fixtures (a seeded population, a built warehouse) are made once.
pytest: $(STAMP)
	$(VENV)/bin/pytest -n 2 --dist loadfile

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(STAMP): requirements.lock pyproject.toml | $(UV)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(UV) pip sync --quiet --require-hashes --python $(VENV)/bin/python requirements.lock
	$(UV) pip install --quiet --no-deps --python $(VENV)/bin/python -e .
	touch $@

# Re-resolve the pinned, hashed dependency set after editing pyproject.toml.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --extra dev --generate-hashes --quiet \
		--python-version 3.11 --universal -o requirements.lock

clean:
	rm -rf $(VENV) $(TOOLS)
