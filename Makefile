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

## test: the whole suite, then lint. Two pytest sessions at once: the serial tests (what measures load) at
## normal priority, their output in test-output/serial.log, shown at the end; every other tier two at a time
## (pytest-xdist) at Linux's idle scheduling policy (SCHED_IDLE, `chrt --idle`; nice 19 where chrt is missing),
## so it only takes the CPU the load-bearing tests leave: a waking load generator takes the CPU from an idle-policy
## process at once, where beside nice 19 it still waited up to a tick or more, and one run in eight missed its
## schedule. Linux's autogroup scheduling weighs sessions against each other whatever their processes' nice, so
## the niced session gets a session (and scheduling group) of its own, niced too; the harness gives the suppliers
## and generators it starts its own priority (conformance/engine/processes.py, in each child before it runs;
## the policy is inherited). Ctrl-C stops both. Either session failing, or collecting nothing (pytest's exit 5),
## fails the target.
test: $(STAMP)
	@mkdir -p test-output
	@echo "serial tier (load-bearing tests) running beside the rest: test-output/serial.log"
	@$(PY) -m pytest -m serial -p no:cacheprovider > test-output/serial.log 2>&1 & serial=$$!; \
	setsid -w sh -c 'echo 19 > /proc/self/autogroup 2>/dev/null; idle=; \
		chrt --idle 0 true 2>/dev/null && idle="chrt --idle 0"; \
		exec $$idle nice -n 19 "$$0" -m pytest -n 2 --dist loadgroup -m "not serial"' $(PY) & parallel=$$!; \
	trap 'kill -INT $$serial $$parallel 2>/dev/null; wait; exit 130' INT TERM; \
	wait $$parallel; parallel=$$?; \
	wait $$serial; serial=$$?; \
	echo "--- serial tier (test-output/serial.log) ---"; cat test-output/serial.log; \
	echo "parallel tiers: exit $$parallel; serial tier: exit $$serial"; \
	test $$parallel -eq 0 && test $$serial -eq 0
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
