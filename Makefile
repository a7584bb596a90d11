.PHONY: start setup test lint bench bench-http models run lock

start:           ## set up everything and start the studio (first README command)
	bash scripts/start.sh

setup:           ## virtual environment, packages, models, migrations (with test tools)
	bash scripts/setup.sh --dev

test:            ## the whole suite: ruff, format, mypy, pytest (second README command)
	bash scripts/test.sh

run:             ## start the studio without re-running setup
	.venv/bin/python main.py serve

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

models:
	.venv/bin/python main.py models install

bench:           ## engine benchmark: tools × 1 MP / 12 MP, median of 3, peak memory, rembg beside it
	.venv/bin/python main.py bench

lock:            ## re-resolve every dependency on purpose: uv.lock and the hash-pinned requirements/*.txt
	bash scripts/lock.sh
