# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow venv lint typecheck bench clean browser-deps

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/battrace demo

# One pytest worker per CPU (pytest-xdist), each test file whole on one worker (its module fixtures
# are built once); PostgreSQL tests each get their own schema, so the workers do not meet.
XDIST := -n auto --dist loadfile

test: $(STAMP) browser-deps
	$(PY) -m pytest -q $(XDIST)

# The long twins of tests the default run keeps short (more examples, more writers, the whole CLI
# in subprocesses): `pytest -m slow`.
test-slow: $(STAMP) browser-deps
	$(PY) -m pytest -q -m slow $(XDIST)

lint: $(STAMP)
	$(VENV)/bin/ruff check battrace tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/codes.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache battrace.db*

# Debian's Chromium (and a CJK font for readable screenshots) for the browser tests, installed only
# when missing; without it (no root, no network) the browser tests skip and say why.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "browser-deps: installing chromium with apt-get"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium fonts-wqy-microhei >/dev/null) \
	    || echo "browser-deps: could not install chromium; the browser tests will skip"; \
	  else \
	    echo "browser-deps: /usr/bin/chromium is missing (apt-get install chromium); the browser tests will skip"; \
	  fi; \
	fi
