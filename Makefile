# The two commands of the README: `make run` builds everything and starts the stdio server;
# `make test` runs every check and test. Both work on a fresh machine with rustup and python3.

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
RUN_ARGS ?=
COMPONENTS := target/component/wasm32-wasip2/component
# The typed component for WASM MCP gateways, with its WIT docs embedded.
GATEWAY_WASM := target/gateway/taiga-gateway.wasm
# wasm-tools, to check the gateway component's imports; installed here, not system-wide.
WASM_TOOLS_VERSION := 1.263.0
WASM_TOOLS := .tools/bin/wasm-tools

.PHONY: run build gateway test lint unit e2e conformance apps apps-check wasm-target clean

wasm-target:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# The host's build script builds the WebAssembly component and embeds it.
run: wasm-target
	$(CARGO) run --release --quiet --package taiga-mcp -- $(RUN_ARGS)

build: wasm-target gateway
	$(CARGO) build --workspace --bins
	$(CARGO) build --package taiga-trap-component --target wasm32-wasip2 --release --target-dir target/component

gateway: wasm-target
	$(CARGO) build --package taiga-gateway --target wasm32-wasip2 --profile component --target-dir target/component
	mkdir -p $(dir $(GATEWAY_WASM))
	$(CARGO) run --quiet --package taiga-gateway-gen --bin embed-docs -- $(COMPONENTS)/taiga_gateway.wasm wit taiga-gateway $(GATEWAY_WASM)

$(WASM_TOOLS):
	$(CARGO) install wasm-tools --locked --version $(WASM_TOOLS_VERSION) --no-default-features --features component --root .tools

$(VENV)/.installed: tests/e2e/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/e2e/requirements.txt
	touch $@

# The MCP Apps' bundler and the browser test's host page come from npm (apps/package-lock.json);
# the bundled apps are committed, so that `make run` needs no Node.
APPS_NPM := apps/node_modules/.installed

$(APPS_NPM): apps/package-lock.json
	npm ci --prefix apps --no-audit --no-fund --loglevel=error
	touch $@

# Rebuilds the apps (guest/core/src/apps/*.html) from apps/src.
apps: $(APPS_NPM)
	node apps/build.mjs

# Fails when a committed app differs from what its sources give.
apps-check: $(APPS_NPM)
	node apps/build.mjs --check

lint: wasm-target
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --package taiga-component --package taiga-gateway --package taiga-trap-component --target wasm32-wasip2 --target-dir target/component -- -D warnings
	$(PYTHON) tests/lint/module_cycles.py host/src guest/*/src tests/*/src

unit: build $(WASM_TOOLS)
	WASM_TOOLS=$(abspath $(WASM_TOOLS)) $(CARGO) test --workspace

e2e: build $(VENV)/.installed $(APPS_NPM)
	$(VENV)/bin/python -m pytest tests/e2e -q

conformance: build
	bash tests/conformance/run.sh

test: lint apps-check unit e2e conformance

clean:
	$(CARGO) clean
	rm -rf $(VENV) .tools apps/node_modules
