# Pathway: `make run` serves the demo, `make test` runs the whole test suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
export PATHWAY_ENV ?= development

# Debian packages the app and its tests need: Pango for WeasyPrint (PDF), zbar to decode QR codes in tests.
SYSTEM_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libzbar0 fonts-dejavu-core poppler-utils

.PHONY: run test install system-deps translations extract-messages bench bench-deps bench-scale bench-instructions soak soak-hosts e2e e2e-deps lint clean

run: install
	$(BIN)/flask --app wsgi migrate
	$(BIN)/flask --app wsgi demo
	$(BIN)/flask --app wsgi send-mail
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl+C to stop)"
	$(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) wsgi:app

test: install e2e-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Only the end-to-end journeys in a real browser (also part of `make test`).
e2e: install e2e-deps
	$(BIN)/python -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

# axe-core, from the npm registry, for the accessibility audit of the end-to-end tests. Needed
# only where Debian's Chromium can run them; without Chromium those tests are skipped.
e2e-deps:
	@if [ -x /usr/bin/chromium ] && [ ! -f node_modules/axe-core/axe.min.js ]; then \
	  command -v npm >/dev/null || { echo "npm is needed for the accessibility audit: sudo apt-get install -y npm"; exit 1; }; \
	  echo "Installing axe-core (npm ci)"; \
	  npm ci --no-audit --no-fund --loglevel=error; \
	fi

# Benchmarks (not part of the tests): one table, each figure beside a baseline of the same run.
bench: install bench-deps
	$(BIN)/python bench/bench.py

# 1 000 vs 100 000 patients and 1 000 000 access events (a few minutes: bulk fills).
bench-scale: install
	$(BIN)/python bench/scale.py

# Instructions per request counted by valgrind: figures that do not move with the machine's load.
bench-instructions: install
	@command -v valgrind >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq valgrind >/dev/null; \
	  else echo "valgrind is needed: sudo apt-get install -y valgrind"; exit 1; fi; }
	$(BIN)/python bench/instructions.py

# wrk drives the HTTP load; without it (and without root to install it) a Python client does.
bench-deps:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null || true; \
	  else echo "wrk not installed (sudo apt-get install -y wrk): using the Python load client"; fi; }

# Several gunicorn workers on a fresh PostgreSQL database (created and dropped), mixed load for
# SOAK_SECONDS (60): no 5xx, one AccessEvent per view, revocations seen as 410 by every worker.
soak: install
	$(BIN)/python bench/soak.py

# Two app hosts (network namespaces made by the script) behind HAProxy, with a PostgreSQL,
# a Redis and an SMTP server of its own, under a mixed load while one host's gunicorn is
# killed, PostgreSQL restarted, Redis and SMTP stopped: failures and pauses per fault, no
# access event lost or doubled, revocations seen by both hosts. As root (namespaces).
# SOAK_HOSTS_SHORT=1: the short form CI runs. See docs/deploy.md, section 8.
SOAK_HOSTS_PACKAGES := haproxy iproute2 redis-server
soak-hosts: install
	@missing=""; \
	for pkg in $(SOAK_HOSTS_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing system packages. Run:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@[ "$$(id -u)" = 0 ] || { echo "make soak-hosts runs as root (it makes network namespaces)"; exit 1; }
	$(BIN)/python bench/soak_hosts.py

install: system-deps $(VENV)/.installed translations

$(VENV)/.installed: requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

system-deps:
	@missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Missing system packages. Run:  sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d pathway/translations >/dev/null

# Refresh the catalogues after adding or changing user-visible text.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-wrap -o pathway/translations/messages.pot .
	$(BIN)/pybabel update -i pathway/translations/messages.pot -d pathway/translations --no-fuzzy-matching --no-wrap

lint: $(VENV)/.installed
	$(BIN)/ruff check pathway tests bench
	$(BIN)/ruff format --check pathway tests bench
	$(BIN)/mypy --strict pathway

clean:
	rm -rf $(VENV) .pytest_cache
