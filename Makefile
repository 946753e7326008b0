# The two commands of the README: `make run` builds everything and starts the stdio server;
# `make test` runs every check and test. Both work on a fresh machine with rustup and python3.

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
RUN_ARGS ?=

.PHONY: run build test lint unit e2e conformance wasm-target clean

wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# The host's build script builds the WebAssembly component and embeds it.
run: wasm-target
	$(CARGO) run --release --quiet --package taiga-mcp -- $(RUN_ARGS)

build: wasm-target
	$(CARGO) build --workspace --bins
	$(CARGO) build --package taiga-trap-component --target wasm32-wasip2 --release --target-dir target/component

$(VENV)/.installed: tests/e2e/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
	touch $@

lint: wasm-target
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --package taiga-component --package taiga-trap-component --target wasm32-wasip2 --target-dir target/component -- -D warnings

unit: build
	$(CARGO) test --workspace

e2e: build $(VENV)/.installed
	$(VENV)/bin/python -m pytest tests/e2e -q

conformance: build
	bash tests/conformance/run.sh

test: lint unit e2e conformance

clean:
	$(CARGO) clean
	rm -rf $(VENV)
