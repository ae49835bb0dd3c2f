# Portail OVA — the two commands a newcomer needs:
#   make demo   set up everything, load the shipped sample data, serve http://127.0.0.1:5000
#   make test   set up everything and run the whole test suite
SHELL := /bin/bash
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test setup-demo setup-test demo-data serve bench clean

demo: setup-demo demo-data serve

setup-demo:
	@scripts/setup.sh demo

setup-test:
	@scripts/setup.sh test

demo-data:
	@source var/demo.env && scripts/load_demo.sh

# The production server (gunicorn.conf.py), two workers: a demo on a laptop.
serve:
	@source var/demo.env && echo "Portail OVA: http://$(HOST):$(PORT)" && \
	  exec $(VENV)/bin/gunicorn -c gunicorn.conf.py --bind $(HOST):$(PORT) --workers 2 'portal:create_app()'

# Lint first (ruff, configured in pyproject.toml; the import contract is a test), then the suite.
test: setup-test
	@$(VENV)/bin/ruff check .
	@source var/test.env && $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Every benchmark but bench/scale.py (1M and 10M incidents: over an hour and 4 GB; run it on its own).
bench: setup-test
	@source var/test.env && for b in bench/*.py; do [ "$$b" = bench/scale.py ] || $(VENV)/bin/python "$$b" || exit 1; done

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache
