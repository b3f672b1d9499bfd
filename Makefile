# The two commands a new user types: `make demo` and `make test`. Each sets up .venv first.
# `make lint` runs the style checks of .pre-commit-config.yaml over every file, as CI does.
PY := .venv/bin/python
WORK_DIR ?= work_dirs/radio_demo

.PHONY: env demo test lint clean

env:
	bash tools/setup_env.sh

demo: env
	$(PY) tools/train.py configs/distill/radio_demo.py --work-dir $(WORK_DIR)

test: env
	$(PY) -m pytest tests

lint: env
	PATH="$(CURDIR)/.venv/bin:$$PATH" $(PY) -m pre_commit run --all-files --show-diff-on-failure

clean:
	rm -rf work_dirs .pytest_cache
