# The two commands a new user needs: `make run` and `make test`. Everything else is optional.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
export SOCPASS_HOME ?= $(CURDIR)/var

.PHONY: install run test bench fuzz load clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: install
	$(PY) -m issuer.demo

# -rs: every skipped test's reason in the summary (a missing PostgreSQL, Chromium or wrk).
# TEST_WORKERS pytest processes (pytest-xdist); TEST_WORKERS=0 runs everything in this one.
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -q -rs -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: install
	$(PY) -m bench

# The load tests at full size (make test runs them small): the verifier under 64 connections for
# 60 s; two gunicorn issuer workers issuing 10,000 credentials on PostgreSQL while revoking.
load: install
	SOCPASS_LOAD_SECONDS=60 SOCPASS_LOAD_ISSUES=10000 $(PY) -m pytest -q tests/load tests/issuer/test_gunicorn.py

# Coverage-guided fuzzing with atheris, FUZZ_SECONDS per target, seeded from the shared vectors.
# Crashes are written to var/fuzz/ as crash-*; the corpus grows there between runs.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := qr_text compact_token status_list registry_csv image
fuzz: install
	mkdir -p var/fuzz
	$(PY) -m tests.fuzz.seeds var/fuzz
	for t in $(FUZZ_TARGETS); do \
	  $(PY) -m tests.fuzz.run $$t var/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=var/fuzz/ || exit 1; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
