# Two commands for a new user: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test check unit lint install clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## demo: evaluate examples/demo-tender.yaml (three fictional suppliers started from the fixtures), rank them, write the comparison report
demo: $(STAMP)
	$(PY) examples/demo.py

## test: the whole suite, then lint: every tier but the serial tests two at a time (pytest-xdist), then the
## serial ones alone (what measures load must not share the machine). pytest's exit 5
## (nothing collected) fails the target like any other failure.
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -m "not serial"
	$(PY) -m pytest -m serial
	$(MAKE) lint

## check: the developer's loop: lint, then the unit tier (seconds)
check: $(STAMP) lint unit

unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

# Each profile's checks/ is type-checked on its own (its files import each other as `from . import name`),
# from inside the profile folder, with the cache kept here: nothing may be written into profiles/ (digest).
lint: $(STAMP)
	$(VENV)/bin/ruff check conformance fixtures loadtests tests examples profiles $(wildcard benchmarks)
	$(VENV)/bin/mypy
	@for checks in $(wildcard profiles/*/*/checks); do \
		(cd $$checks/.. && MYPYPATH=$(CURDIR) $(CURDIR)/$(VENV)/bin/mypy --config-file $(CURDIR)/pyproject.toml \
			--cache-dir $(CURDIR)/.mypy_cache --no-error-summary checks) || exit 1; \
	done

clean:
	rm -rf $(VENV) runs evaluations comparison test-output .pytest_cache .mypy_cache .ruff_cache
