# Every target bootstraps .venv from nothing (python3 -m venv + pip install -e .[dev,launchers,peers]) first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=
PYTEST ?= -q -n 2 --durations=10

.PHONY: install run test bench contract lint clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -qq --upgrade pip
	$(PY) -m pip install -qq -e ".[dev,launchers,peers]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## the default benchmark (configs/experiment/quick.yaml); pass Hydra overrides as ARGS="..."
	$(VENV)/bin/colosseum $(ARGS)

test: $(STAMP)  ## the whole test suite
	$(PY) -m pytest $(PYTEST)

bench: $(STAMP)  ## speed and peak memory next to the peers: diffusion package, flatteners, GraphRicciCurvature, kappakit and diffusion geometry (own venvs; DG_REFERENCE=path/to/ManifoldDiffusionGeometry.py)
	$(PY) bench/bench_diffusion.py $(BENCH)
	$(PY) bench/bench_flattening.py
	$(PY) bench/bench_graph.py
	$(PY) bench/bench_denoisers.py
	$(PY) bench/bench_sff.py
	$(PY) bench/bench_diffusion_geometry.py $(if $(DG_REFERENCE),--reference $(DG_REFERENCE),)

contract: $(STAMP)  ## the public contract of docs/DESIGN.md, checked on every registered dataset and method
	$(VENV)/bin/colosseum-contract

lint: $(STAMP)
	$(VENV)/bin/ruff check colosseum methods datasets denoisers tests hydra_plugins bench

clean:
	rm -rf $(VENV) .pytest_cache
