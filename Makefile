# The two commands: `make run` starts the service, `make test` runs the checks and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint bench demo clean

# The development set (runtime + linters, type checker, test tools); the Docker image installs
# requirements.txt alone.
$(INSTALLED): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(INSTALLED)

install: $(INSTALLED)

# Azurite (the Azure Blob emulator the tests run against) comes from npm.
node_modules/.installed: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

run: install
	$(BIN)/python -m rca_project.serve

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

test: lint node_modules/.installed
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python bench/ingest.py

# With `make run` going in another terminal: post the shared sample payloads.
demo: install
	$(BIN)/python bench/post_samples.py

clean:
	rm -rf $(VENV) var
