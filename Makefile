# The two commands: `make dev` runs the bot locally, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: dev test soak install clean

install: $(PY_STAMP) $(NODE_STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# --ignore-scripts: keytar (a dependency of @microsoft/m365agentstoolkit-cli) builds against libsecret in
# its install script and fails without it; no package here needs an install script to run.
$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

## dev: Azurite + the bot on 127.0.0.1:3978 + the Agents Playground; Ctrl-C stops all three.
dev: install
	$(PY) scripts/dev.py

## test: the whole suite against its own Azurite on a free port (the bot on botbuilder), then tests/e2e again with the
## bot on the Agents SDK (TEAMS_SDK=agents); both always run, and it fails when either does.
test: install
	TEAMS_SDK=botbuilder $(PY) -m pytest; suite=$$?; \
	TEAMS_SDK=agents $(PY) -m pytest tests/e2e; agents=$$?; \
	exit $$(( suite ? suite : agents ))

## soak: the model-based test of a week, run long (many random weeks); prints how many weeks and steps ran.
soak: install
	$(PY) -m bench.week_soak

## faults: requests and webhooks through Connector, Jira, Table Storage and crash faults (about 5 min); prints the figures.
.PHONY: faults
faults: install
	$(PY) -m bench.faults

## rush: bursts of 10 and 30, a busy 16-18 h replayed 60x faster and a soak of 10,000 requests, against a Connector
## stand-in that keeps Teams' rate limits, beside the echo bot (about 40 min); prints the figures (bench/results/rush.json).
.PHONY: rush
rush: install
	$(PY) -m bench.rush

## package: build/appPackage.zip for Teams: the manifest with ${{...}} filled from ENV_FILE (default env/.env.dev), plus the icons.
ENV_FILE ?= env/.env.dev
.PHONY: package
package: $(PY)
	$(PY) scripts/package_app.py --env-file $(ENV_FILE) --output build/appPackage.zip

clean:
	rm -rf $(VENV) node_modules .pytest_cache .hypothesis
