# One target per task; every target works on a fresh clone (it creates .venv itself).
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
SHARED  ?= ../shared
THREADS ?= $(shell nproc 2>/dev/null || echo 2)
DATA    := data

# Default corpus: the shared text8 head when present, else the full text8 downloaded the
# way the original demo scripts get it.
CORPUS ?= $(if $(wildcard $(SHARED)/data/text8-head12.5M),$(SHARED)/data/text8-head12.5M,$(DATA)/text8)

.PHONY: install test test-slow demo lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m w2v_cli.native
	touch $@

install: $(VENV)/.installed        ## virtual environment, package, compiled kernels

test: install                      ## the default test suite (a few minutes)
	$(BIN)/python -m pytest -q

test-slow: install                 ## long tests: quality on text8-head, big inputs
	$(BIN)/python -m pytest -q -m slow

$(DATA)/text8:
	mkdir -p $(DATA)
	$(BIN)/python scripts/fetch_text8.py $@

demo: install $(CORPUS)            ## train on the default corpus, show nearest neighbours
	$(BIN)/word2vec -train $(CORPUS) -output $(DATA)/vectors.bin -cbow 1 -size 200 -window 8 \
	  -negative 25 -hs 0 -sample 1e-4 -threads $(THREADS) -binary 1 -iter 15
	$(BIN)/python scripts/neighbours.py $(DATA)/vectors.bin king france computer music

clean:
	rm -rf $(VENV) $(DATA) build *.egg-info w2v_cli/_native .pytest_cache
