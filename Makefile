# Two commands: `make demo` and `make test`. Both create .venv and install everything first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# CPU-only PyTorch keeps a CPU server from pulling gigabytes of CUDA libraries. Where the default
# index serves CUDA builds, point TORCH_INDEX_URL at a CPU wheel index.
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX_URL ?=

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rapport demo

test: $(STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot connectors nlp tests bench
	$(BIN)/ruff format --check bot connectors nlp tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/classifier.py

clean:
	rm -rf $(VENV) rapport.db
