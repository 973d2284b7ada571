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

# --- benchmark ---
# `make bench`: ours vs gensim (corpus_file and LineSentence) vs fastText on text8-head in
# 1000-word lines, 4 configurations, 1 thread and all cores; tables in bench-results/bench.md
# (also printed), raw results in bench.json, chart in bench.png.  Another corpus (plain
# text, one sentence per line): make bench BENCH_CORPUS=path/to/corpus.txt
# `make bench-wiki8`: skip-gram NS and CBOW NS on wiki8 (17.5M words), all cores (~30 min).
BENCH_CORPUS ?= $(DATA)/text8h-lines.txt
BENCH_OUT    ?= bench-results
BENCH_ARGS   ?=
WIKI8        ?= $(DATA)/wiki8.txt
BENCH        := $(BIN)/python scripts/bench.py --questions $(SHARED)/data/questions-words.txt

.PHONY: bench bench-wiki8

$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $@

$(DATA)/text8h-lines.txt: $(SHARED)/data/text8-head12.5M
	mkdir -p $(DATA)
	$(BIN)/python scripts/make_lines.py $< $@ --words-per-line 1000

$(DATA)/wiki8.txt: $(SHARED)/data/wiki8.txt.gz     # already in lines of 10,000 words
	mkdir -p $(DATA)
	gunzip -c $< > $@.part && mv $@.part $@

bench: $(VENV)/.bench-installed $(BENCH_CORPUS)   ## side-by-side benchmark (~15 min on 2 cores)
	$(BENCH) --corpus $(BENCH_CORPUS) --threads 1 $(THREADS) --out $(BENCH_OUT) $(BENCH_ARGS)

bench-wiki8: $(VENV)/.bench-installed $(WIKI8)   ## quality on wiki8 beside the peers
	$(BENCH) --corpus $(WIKI8) --configs sg-ns,cbow-ns --threads $(THREADS) \
	  --out $(BENCH_OUT)/wiki8 $(BENCH_ARGS)
