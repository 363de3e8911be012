# Two commands: `make demo` and `make test`. Both create .venv first and install at the exact versions
# locked (`make lock` regenerates both lock files from pyproject.toml): `make demo` the runtime alone
# (requirements-runtime.lock: no PyTorch, the classifier runs in ONNX Runtime), `make test` everything,
# the `train` extra with PyTorch included (requirements.lock). After `make test`, `make demo` reuses it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RUNTIME_STAMP := $(VENV)/.runtime-stamp
LOCK := requirements.lock
RUNTIME_LOCK := requirements-runtime.lock
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

.PHONY: demo test lint bench lock clean browser

$(STAMP): pyproject.toml $(LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)" $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL))
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(STAMP) $(RUNTIME_STAMP)

# The full install above holds the runtime too, so a venv made by `make test` serves `make demo` as it is.
$(RUNTIME_STAMP): pyproject.toml $(RUNTIME_LOCK)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r $(RUNTIME_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $(RUNTIME_STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/rapport demo

# The console's browser tests drive Debian's chromium through Playwright, which never downloads a browser.
# Installed only when missing (as root, or with sudo where there is one).
browser:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the console's browser tests"; \
		$$( [ "$$(id -u)" = 0 ] || echo sudo ) sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'; }

test: $(STAMP) browser
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check bot connectors nlp tests bench
	$(BIN)/ruff format --check bot connectors nlp tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/classifier.py

# Resolve every runtime dependency and every extra (train, onnx, dev) for CPython 3.11 on Linux x86_64, torch held at
# TORCH_VERSION; then the runtime alone (no extras) at the same versions. Run it after changing a range in
# pyproject.toml and commit both files; existing pins are kept unless `make lock UPGRADE=1`.
TORCH_VERSION ?= 2.13.0
lock:
	test -x $(BIN)/uv || ($(PY) -m venv $(VENV) && $(BIN)/pip install --quiet uv)
	echo "torch==$(TORCH_VERSION)" > $(VENV)/torch-constraint.txt
	$(BIN)/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --constraint $(VENV)/torch-constraint.txt \
		$(foreach p,$(CUDA_PACKAGES),--no-emit-package $(p)) \
		--custom-compile-command "$(LOCK_COMMAND)" $(if $(UPGRADE),--upgrade) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
		--constraint $(LOCK) --custom-compile-command "$(LOCK_COMMAND)" -o $(RUNTIME_LOCK)

clean:
	rm -rf $(VENV) rapport.db
