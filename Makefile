# The two commands of the README: `make run` and `make test`.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run test test-fast bench lint

setup:
	scripts/setup.sh

# Ingest the sample corpus and serve the web chat on http://127.0.0.1:8000
run: setup
	.venv/bin/chidao ingest samples
	.venv/bin/chidao serve

test: setup
	.venv/bin/pytest -q

test-fast: setup
	.venv/bin/pytest -q -m "not slow and not browser"

bench: setup
	.venv/bin/python benchmarks/run_all.py

lint: setup
	.venv/bin/ruff check .
