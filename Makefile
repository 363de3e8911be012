# Two commands: `make demo` and `make test`. Both create .venv and install everything first, at the
# exact versions in requirements.lock (`make lock` regenerates it from pyproject.toml).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LOCK := requirements.lock
# CPU-only PyTorch keeps a CPU server from pulling gigabytes of CUDA libraries: torch is installed
# on its own first, at the locked version, so pip can take a local CPU wheel (`torch==2.13.0` matches
# `2.13.0+cpu`). Where the default index serves CUDA builds, point TORCH_INDEX_URL at a CPU wheel index.
TORCH_SPEC ?= $(shell grep -E '^torch==' $(LOCK))
TORCH_INDEX_URL ?=
# The CUDA runtime that PyPI's torch wheel asks for: never installed (CPU build), so never locked.
CUDA_PACKAGES := cuda-bindings cuda-pathfinder cuda-toolkit triton \
	nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft \
	nvidia-cufile nvidia-curand nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-nccl-cu13 \
	nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx
LOCK_COMMAND := make lock

.PHONY: demo test lint bench lock clean

$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
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

# Resolve every runtime dependency and every extra (train, onnx, dev) for CPython 3.11 on Linux x86_64, torch held at
# TORCH_VERSION. Run it after changing a range in pyproject.toml and commit the result; existing pins
# are kept unless `make lock UPGRADE=1`.
TORCH_VERSION ?= 2.13.0
lock:
	test -x $(BIN)/uv || ($(PY) -m venv $(VENV) && $(BIN)/pip install --quiet uv)
	echo "torch==$(TORCH_VERSION)" > $(VENV)/torch-constraint.txt
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --constraint $(VENV)/torch-constraint.txt \
		$(foreach p,$(CUDA_PACKAGES),--no-emit-package $(p)) \
		--custom-compile-command "$(LOCK_COMMAND)" $(if $(UPGRADE),--upgrade) -o $(LOCK)

clean:
	rm -rf $(VENV) rapport.db
