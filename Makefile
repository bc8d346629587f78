# OrderGuard developer entry points. Production notes: platform/DEPLOYMENT.md.
#
#   make setup   .venv with the pinned requirements (skipped while they are unchanged)
#   make run     migrate, seed the demo once, start web + worker + beat (+ embedded Redis)
#   make test    the whole suite on SQLite, then again on a throw-away PostgreSQL
#   make lint    ruff check and ruff format --check
#   make bench   the benchmarks under bench/
#   make messages  refresh the zh-hans and en catalogues and compile them
#   make vendor-messages  refresh the console theme's (unfold's) zh-hans catalogue after an upgrade
#   make assets  refresh the pinned front-end libraries under static/vendor/ from npm

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Rebuilt when a requirements file is newer than the last install.
STAMP := $(VENV)/.requirements.stamp
MANAGE := $(BIN)/python manage.py

PORT ?= 8000
export PORT

# Development defaults for what runs from this checkout (config/env.py reads the file before the
# settings; variables set in the environment win), so that the manage.py commands README shows
# work outside `make run` too. Written once, then left for the developer to edit; production
# never has it.
RUN_DIR := $(or $(ORDERGUARD_RUN_DIR),run)
RUN_ENV := $(RUN_DIR)/env

# Without REDIS_URL, `make run` also starts the embedded redis-server on the run directory's socket.
ifeq ($(strip $(REDIS_URL)),)
PROCFILE := platform/Procfile
# An empty REDIS_URL would reach the settings as "" instead of the embedded socket's URL.
unexport REDIS_URL
else
PROCFILE := platform/Procfile.external
endif

.PHONY: help setup run test lint bench browser messages assets vendor-messages

help:
	@sed -n '3,10s/^#  //p' $(firstword $(MAKEFILE_LIST))

setup: $(STAMP) $(RUN_ENV)

$(RUN_ENV):
	@mkdir -p $(@D)
	@printf '%s\n' \
		'# Development settings of this checkout, written by `make setup` (see config/env.py).' \
		'# manage.py, daphne and celery read it; a variable set in the environment wins.' \
		'# Never deploy this file: production sets DEBUG=0 and a SECRET_KEY (platform/env.example).' \
		'DEBUG=1' > $@
	@echo "Wrote $@ (DEBUG=1 for commands run by hand on this machine)"

# Some Debian-style Pythons ship venv without ensurepip: then pip is installed into the venv by
# the interpreter's own pip.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV) && $(PYTHON) -m venv --without-pip $(VENV) \
		&& $(PYTHON) -m pip --python $(BIN)/python install pip; }

$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Plain HTTP on localhost unless the caller chose otherwise (DEBUG off turns on HTTPS redirects).
run: export DEBUG ?= 1
# The Procfiles name programs (daphne, celery, python) as they are found on PATH.
run: export PATH := $(CURDIR)/$(BIN):$(PATH)
run: setup
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) seed_demo --if-empty
	@echo
	@echo "OrderGuard: http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/)"
	@echo "Sign in with one of the demo logins printed above. Ctrl-C stops every process."
	@echo "Processes: $(PROCFILE)"
	@echo
	@# Ctrl-C ends honcho with 130: the normal way to stop, not an error. start-honcho runs it in
	@# the processes' time zone, so that its time stamps and theirs agree.
	platform/bin/start-honcho -f $(PROCFILE) start || test $$? -eq 130

# The browser tests drive Debian's Chromium; Playwright can't download browsers here.
CHROMIUM ?= /usr/bin/chromium
# The pages name a font stack that falls back to the system's CJK fonts; the machines have none,
# so the browser tests' screenshots would show boxes for Chinese without fonts-noto-cjk.
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
browser:
	@test -x $(CHROMIUM) -a -f $(CJK_FONT) || { echo "Installing chromium and fonts-noto-cjk with apt-get (browser tests)"; \
		$(if $(filter 0,$(shell id -u)),,sudo -n) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$(if $(filter 0,$(shell id -u)),,sudo -n) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; }

# Refresh the pinned front-end libraries under static/vendor/ from the npm registry (assets.tsv).
assets:
	platform/bin/refresh-assets

# Two xdist workers (the machines have two cores); each starts its own Redis (tests/bootstrap.py).
test: setup browser
	@echo "== test suite on SQLite =="
	$(BIN)/pytest tests -n 2
	@echo "== test suite on PostgreSQL =="
	platform/bin/with-postgres $(BIN)/pytest tests -n 2

# Refresh both catalogues after changing user-visible strings, translate, then compile.
messages: setup
	DEBUG=1 $(MANAGE) makemessages -l zh_Hans -l en --no-location --ignore=.venv --ignore=tests --ignore=bench --ignore=run
	DEBUG=1 $(MANAGE) compilemessages --ignore=.venv

# unfold ships no zh-hans: re-extract its strings into locale_vendor/ (keeping the translations),
# list the new ones to translate (exits 1 until none is left), compile. Not `messages`: ours only.
vendor-messages: setup
	$(BIN)/python platform/bin/vendor-messages

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# SCAN_ORDERS=100000 make bench for a quicker scan run (the SPEC §6 figure is at 1,000,000).
SCAN_ORDERS ?= 1000000
bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/live.py
	$(BIN)/python bench/sla.py
	$(BIN)/python bench/backtest.py
	$(BIN)/python bench/scan.py --orders $(SCAN_ORDERS)
