# sb3-plus: `make demo`, `make test`, `make bench` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
# 2 cores: one torch/BLAS thread per process avoids oversubscription.
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1
export PYTHONUNBUFFERED := 1

.PHONY: install demo test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch first, so nothing pulls CUDA wheels.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test]"
	# imitation pins SB3 2.2 / gymnasium 0.29 but runs on ours: install without its pins.
	$(PIP) install -q --no-deps "imitation==1.0.1"
	$(PIP) install -q "datasets>=2.14" "jsonpickle>=3" "scikit-learn>=1.3"
	# Procgen declares numpy<2 and the old gym but runs on ours: install without its pins (sb3_plus/envs/procgen.py).
	$(PIP) install -q --no-deps "procgen-mirror==0.10.7" "gym3==0.3.3"
	# rl-zoo3's published hyperparameter files, read by the tests (not installed, not in the repo)
	$(PIP) download -q --no-deps -d .cache/rl_zoo3 "rl_zoo3==2.9.2"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m sb3_plus.demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	$(PY) -m sb3_plus.bench

clean:
	rm -rf $(VENV) demo_out logs
