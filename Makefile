# The two commands a new user types: `make demo` and `make test`. Each sets up .venv first.
PY := .venv/bin/python
WORK_DIR ?= work_dirs/radio_demo

.PHONY: env demo test clean

env:
	bash tools/setup_env.sh

demo: env
	$(PY) tools/train.py configs/distill/radio_demo.py --work-dir $(WORK_DIR)

test: env
	$(PY) -m pytest tests

clean:
	rm -rf work_dirs .pytest_cache
