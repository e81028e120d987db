# The two commands: `make dev` runs the bot locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: dev test install clean

install: $(PY_STAMP) $(NODE_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## dev: Azurite + the bot on 127.0.0.1:3978 + the Agents Playground; Ctrl-C stops all three.
dev: install
	$(PY) scripts/dev.py

## test: the whole suite against its own Azurite on a free port; exits with pytest's code.
test: install
	$(PY) -m pytest

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
