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

.PHONY: install test test-floors test-slow demo lint help clean
.DEFAULT_GOAL := help

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The cuda and mpi extras let the suite run the GPU kernels through Numba's CUDA simulator
# and the mpiexec tests.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,cuda,mpi]'
	$(BIN)/python -m w2v_cli.native
	touch $@

install: $(VENV)/.installed        ## virtual environment, package (test, cuda, mpi extras), kernels

# The tests run against the package as users get it: a wheel installed in a fresh
# environment outside the checkout (see scripts/test_installed.sh).  For a quick run on
# the sources while editing: make install, then .venv/bin/python -m pytest -q
test:                              ## the default test suite, on the installed wheel (a few minutes)
	PYTHON=$(PYTHON) scripts/test_installed.sh -q

# The same suite on the oldest Python and dependency versions pyproject.toml declares
# (scripts/test_floors.sh): a fresh environment pinned to its lower bounds.
test-floors:                       ## the default suite on the declared oldest versions
	PYTHON=$(PYTHON) scripts/test_floors.sh -q

test-slow:                         ## long tests: quality on text8-head, big inputs, fresh installs
	PYTHON=$(PYTHON) scripts/test_installed.sh -q -m slow

$(DATA)/text8:
	mkdir -p $(DATA)
	$(BIN)/python scripts/fetch_text8.py $@

demo: install $(CORPUS)            ## train on the default corpus, show nearest neighbours
	mkdir -p $(DATA)
	$(BIN)/word2vec -train $(CORPUS) -output $(DATA)/vectors.bin -cbow 1 -size 200 -window 8 \
	  -negative 25 -hs 0 -sample 1e-4 -threads $(THREADS) -binary 1 -iter 15
	printf '%s\n' king france computer music | $(BIN)/distance $(DATA)/vectors.bin

# The tools only, not the kernels: ruff and mypy read the sources (config in pyproject.toml).
$(VENV)/.lint-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[lint]'
	touch $@

lint: $(VENV)/.lint-installed      ## ruff (style, import order) on everything, mypy on the typed layers
	@status=0; $(BIN)/ruff check --output-format concise . || status=1; \
	  $(BIN)/mypy || status=1; exit $$status

help:                              ## this list
	@awk -F':[^#]*## ' '/^[A-Za-z0-9_-]+:[^#]*## / {printf "  make %-15s %s\n", $$1, $$2}' \
	  $(MAKEFILE_LIST)

clean:                             ## remove the environment, downloads, build files, kernels
	rm -rf $(VENV) $(DATA) build *.egg-info w2v_cli/_native .pytest_cache

# --- benchmark ---
# `make bench`: ours (default and -batch 1, "ours-batched") vs gensim (corpus_file and
# LineSentence) vs fastText on text8-head in 1000-word lines, 4 configurations, 1 thread
# and all cores; tables in bench-results/bench.md (also printed), raw results in
# bench.json, chart in bench.png.  Ours and ours-batched run BENCH_REPEAT times (run k
# with seed k), the peers BENCH_PEER_REPEAT times, taken in turn; the report gives min /
# median / max per row, thread scaling per run beside two independent single-thread
# copies (the machine's ceiling), useful GFLOP/s beside the peak that scripts/peak_flops.py
# measures, and which of the batched mode's targets hold.  About 30 min on 2 cores
# (five rounds of ours and ours-batched with their copies ~20 min, one of the peers
# ~10 min); BENCH_PEER_REPEAT=3 adds about 20 min.  Another corpus (plain text, one
# sentence per line): make bench BENCH_CORPUS=path/to/corpus.txt
# `make bench-wiki8`: skip-gram NS and CBOW NS on wiki8 (17.5M words), all cores (~45 min on 2 cores).
# Accuracy varies with the random seed (CBOW on wiki8: sd 0.4-0.5 points); BENCH_ARGS="--repeat 5"
# gives each system five runs, run k with seed k, and reports the mean and standard deviation.
BENCH_CORPUS      ?= $(DATA)/text8h-lines.txt
BENCH_OUT         ?= bench-results
BENCH_REPEAT      ?= 5
BENCH_PEER_REPEAT ?= 1
BENCH_ARGS        ?=
WIKI8             ?= $(DATA)/wiki8.txt
BENCH             := $(BIN)/python scripts/bench.py --questions $(SHARED)/data/questions-words.txt

.PHONY: bench bench-large bench-wiki8 mpi-accuracy

$(VENV)/.bench-installed: pyproject.toml | $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $@

$(DATA)/text8h-lines.txt: $(SHARED)/data/text8-head12.5M
	mkdir -p $(DATA)
	$(BIN)/python scripts/make_lines.py $< $@ --words-per-line 1000

$(DATA)/wiki8.txt: $(SHARED)/data/wiki8.txt.gz     # already in lines of 10,000 words
	mkdir -p $(DATA)
	gunzip -c $< > $@.part && mv $@.part $@

bench: $(VENV)/.bench-installed $(BENCH_CORPUS)   ## side-by-side benchmark (~30 min on 2 cores)
	$(BENCH) --corpus $(BENCH_CORPUS) --threads 1 $(THREADS) --repeat $(BENCH_REPEAT) \
	  --peer-repeat $(BENCH_PEER_REPEAT) --out $(BENCH_OUT) $(BENCH_ARGS)

# `make bench-large`: a large model, 300 dimensions and every word kept (wiki8 counted
# with -min-count 1: 223,537 words, a 0.54 GB model), CBOW and skip-gram with production
# flags (scripts/bench.py --large), ours and ours-batched against gensim corpus_file and
# fastText on all cores, one pass, one run each: wall time, words/s, peak RSS, accuracy,
# the targets for memory and speed, and the GPU path's host walk rate (about 20 min on 2
# cores).  Another corpus: make bench-large BENCH_CORPUS=path/to/corpus.txt
LARGE_CORPUS = $(if $(filter command line environment,$(origin BENCH_CORPUS)),$(BENCH_CORPUS),$(WIKI8))

bench-large: $(VENV)/.bench-installed $(LARGE_CORPUS)   ## large-model benchmark (300 dimensions, ~20 min)
	$(BENCH) --large --corpus $(LARGE_CORPUS) --out $(BENCH_OUT)/large $(BENCH_ARGS)

bench-wiki8: $(VENV)/.bench-installed $(WIKI8)   ## quality on wiki8 beside the peers
	$(BENCH) --corpus $(WIKI8) --configs sg-ns,cbow-ns --threads $(THREADS) \
	  --out $(BENCH_OUT)/wiki8 $(BENCH_ARGS)

# docs/performance.md and the README's performance table, from the saved results in
# docs/bench/ (bench_report.py, the benchmark's own report code; never typed by hand).
# After a new run: cp bench-results/bench.json docs/bench/text8.json, and
# bench-results/bench.png docs/bench-text8.png; tests/test_docs.py checks both are in step.
PERF_JSON ?= docs/bench/text8.json docs/bench/large.json docs/bench/wiki8-sg-ns.json \
  docs/bench/wiki8-cbow-ns.json
# The README's tables: the small model beside the large one.
GLANCE_JSON ?= docs/bench/text8.json docs/bench/large.json

.PHONY: performance-page

performance-page: install   ## docs/performance.md and the README's table from docs/bench/*.json
	$(BIN)/python scripts/bench_report.py --docs $(PERF_JSON) --chart bench-text8.png \
	  > docs/performance.md
	$(BIN)/python scripts/bench_report.py --glance $(GLANCE_JSON) --readme README.md

# --- demo pipelines (companion tools) ---
# The original toolkit's demo scripts as targets, non-interactive: the queries reach
# distance and word-analogy through a pipe, and both stop at the end of their input.
# The corpus is $(CORPUS) (text8-head12.5M from ../shared, else text8, downloaded as the
# original scripts do); the training flags are the scripts' own except -threads.
# Scaled down: demo-phrases trains on $(CORPUS) instead of the 2012 news crawl (several GB,
# hours here); text8 is already lower-case letters and spaces, so the scripts' sed/tr
# clean-up of the news text is left out.  On text8-head each training takes 1-2 minutes
# on 2 cores; demo-word, demo-analogy and demo-accuracy share one model.
QUESTIONS      := tests/data/questions
DEMO_WORDS     ?= france king computer music
DEMO_ANALOGIES ?= paris france berlin man woman king one two three
DEMO_TRAIN     := -cbow 1 -size 200 -window 8 -negative 25 -hs 0 -sample 1e-4 -iter 15 \
                  -threads $(THREADS)

.PHONY: demo-word demo-analogy demo-accuracy demo-phrases demo-classes

$(DATA)/vectors-demo.bin: $(CORPUS) | $(VENV)/.installed
	mkdir -p $(DATA)
	$(BIN)/word2vec -train $(CORPUS) -output $@ $(DEMO_TRAIN) -binary 1

# (install first: on a fresh clone without ../shared, fetching text8 needs the venv)
demo-word: install $(DATA)/vectors-demo.bin      ## demo-word.sh: train, nearest words
	printf '%s\n' $(DEMO_WORDS) | $(BIN)/distance $(DATA)/vectors-demo.bin

demo-analogy: install $(DATA)/vectors-demo.bin   ## demo-analogy.sh: a is to b as c is to ?
	printf '%s %s %s\n' $(DEMO_ANALOGIES) | $(BIN)/word-analogy $(DATA)/vectors-demo.bin

demo-accuracy: install $(DATA)/vectors-demo.bin  ## demo-word-accuracy.sh: analogy test
	$(BIN)/compute-accuracy $(DATA)/vectors-demo.bin 30000 < $(QUESTIONS)/questions-words.txt

demo-phrases: install $(CORPUS)           ## demo-phrase-accuracy.sh: phrases, then their test
	mkdir -p $(DATA)
	$(BIN)/word2phrase -train $(CORPUS) -output $(DATA)/phrase0.txt -threshold 200 -debug 2
	$(BIN)/word2phrase -train $(DATA)/phrase0.txt -output $(DATA)/phrase1.txt -threshold 100 \
	  -debug 2
	tr A-Z a-z < $(DATA)/phrase1.txt > $(DATA)/phrase1-lower.txt
	$(BIN)/word2vec -train $(DATA)/phrase1-lower.txt -output $(DATA)/vectors-phrase.bin \
	  -cbow 1 -size 200 -window 10 -negative 25 -hs 0 -sample 1e-5 -iter 15 \
	  -threads $(THREADS) -binary 1
	$(BIN)/compute-accuracy $(DATA)/vectors-phrase.bin < $(QUESTIONS)/questions-phrases.txt

demo-classes: install $(CORPUS)           ## demo-classes.sh: 500 K-means word classes
	mkdir -p $(DATA)
	$(BIN)/word2vec -train $(CORPUS) -output $(DATA)/classes.txt $(DEMO_TRAIN) -classes 500
	sort $(DATA)/classes.txt -k 2 -n > $(DATA)/classes.sorted.txt
	@echo The word classes were saved to file $(DATA)/classes.sorted.txt

# Accuracy, speed and memory by worker layout (scripts/scaling_accuracy.py), seeds 1-3,
# text8-head in 1000-word lines (docs/threads.md, docs/mpi.md have the figures):
# `make threads-accuracy`: 1 to 32 threads, four configurations (about an hour on 2 cores);
# `make mpi-accuracy`: 1 x 2 threads against 2, 3, 4, 8 processes and 2 x 4, first sharing
# one copy of the model (one machine, about 6 min), then with a copy each, synced as copies
# on separate machines are (W2V_CLI_MPI_MODEL=process, about 40 min).
SCALING := $(BIN)/python scripts/scaling_accuracy.py --corpus $(BENCH_CORPUS) \
	   --questions $(SHARED)/data/questions-words.txt

.PHONY: threads-accuracy

threads-accuracy: install $(BENCH_CORPUS)   ## accuracy at 1 to 32 threads
	$(SCALING) --layouts 1x1,1x2,1x4,1x8,1x16,1x32 --configs sg-ns,cbow-ns,sg-hs,sg-batch \
	  --out $(BENCH_OUT)/threads

mpi-accuracy: install $(BENCH_CORPUS)   ## accuracy at 2 to 8 MPI processes
	$(SCALING) --layouts 1x2,2x1,3x1,4x1,8x1,2x4 --configs sg-ns,cbow-ns --out $(BENCH_OUT)/mpi
	W2V_CLI_MPI_MODEL=process $(SCALING) --layouts 1x2,2x1,3x1,4x1,8x1,2x4 \
	  --configs sg-ns,cbow-ns --out $(BENCH_OUT)/mpi-copies
