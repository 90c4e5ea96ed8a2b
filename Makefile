# make setup: install what is missing (Debian QGIS 3.22 + geo stack, .venv with torch and scikit-learn)
# make test:  lint and run the whole test suite (core tests and real qgis_process tests)
# make demo:  run the plugin on the built-in demo region into ./demo-output/
SHELL := /bin/bash
PY := .venv/bin/python
QP := scripts/qgis-process
DEMO_DIR := demo-output

.PHONY: setup test lint demo bench clean

setup:
	@scripts/setup.sh

lint: setup
	@.venv/bin/ruff check .

test: setup lint
	@$(PY) -m pytest -q

demo: setup
	@scripts/demo.sh $(DEMO_DIR)

clean:
	rm -rf .qgis-profile $(DEMO_DIR) .pytest_cache .ruff_cache
