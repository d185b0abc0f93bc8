# provgate — make dev runs it locally, make test runs every test.
SHELL := /bin/bash
# worker-build would download these from GitHub; use the pinned local ones.
export WASM_BINDGEN_BIN ?= $(HOME)/.cargo/bin/wasm-bindgen
export WASM_OPT_BIN ?= $(CURDIR)/node_modules/.bin/wasm-opt
export WRANGLER_SEND_METRICS := false
export PATH := $(HOME)/.cargo/bin:$(PATH)

WASM_SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
E2E_TESTS := $(wildcard tests/e2e/*.test.mjs)

.PHONY: dev test install install-dev install-test build cli test-core test-deploy test-install test-workflows test-e2e bench load profile clean fuzz test-fuzz

## Run provgate locally: a real SCIM origin, a demo key, the edge on :8787.
dev: install-dev build cli
	bash scripts/dev.sh

## Run every test: core (cargo test) and end to end (workerd + real origins).
test: install-test build cli test-core test-deploy test-install test-workflows test-e2e test-fuzz

## What build, deploy and the CLI need (Rust target, worker-build, wasm-bindgen, npm).
install:
	bash scripts/install.sh

## + the Python venv of the local SCIM origin (make dev).
install-dev:
	bash scripts/install.sh dev

## + the test-only tools: cargo-fuzz, Chromium (skipped with a message where apt/root are missing).
install-test:
	bash scripts/install.sh test

## The Worker bundles: build/ (provgate, the SCIM edge) and build/control/
## (provgate-control: the management API and the Durable Objects, the
## crate's `control` feature, in its own target directory). Incremental,
## so wrangler's [build] step is cheap.
build: build/worker/shim.mjs build/control/worker/shim.mjs
build/worker/shim.mjs: $(WASM_SOURCES)
	worker-build --release
	@printf 'wasm: %s bytes raw, %s bytes gzip\n' "$$(wc -c < build/index_bg.wasm)" "$$(gzip -9c build/index_bg.wasm | wc -c)"
build/control/worker/shim.mjs: $(WASM_SOURCES)
	worker-build --release --out-dir build/control -- --features control --target-dir target/control
	@printf 'control wasm: %s bytes raw, %s bytes gzip\n' "$$(wc -c < build/control/index_bg.wasm)" "$$(gzip -9c build/control/index_bg.wasm | wc -c)"

cli:
	cargo build --quiet --bin provgate

test-core:
	cargo test

## The deploy configuration and bundle are valid, for the top level, staging
## and production (wrangler deploy --dry-run; no Cloudflare account needed).
test-deploy:
	timeout 900 node --test --test-timeout=300000 tests/deploy/*.test.mjs
	@for env in "" staging production; do \
	  out=build/dry-run-control$${env:+-$$env}; \
	  node_modules/.bin/wrangler deploy --dry-run -c control.wrangler.toml --env="$$env" --outdir $$out > $$out.log 2>&1 || { cat $$out.log; exit 1; }; \
	  grep -q 'dry-run: exiting now' $$out.log && test -s $$out/shim.js || { cat $$out.log; exit 1; }; \
	  echo "wrangler deploy --dry-run -c control.wrangler.toml --env=$$env: ok"; \
	done

## make install in a fresh copy, with apt-get and Chromium off the PATH, still
## builds, deploys (dry run) and runs make dev; the doctor's browser test
## skips visibly without Chromium, and fails under CI=true.
test-install:
	timeout 1500 bash tests/install/fresh-clone.sh

## The CI deploy workflow is valid (schema check, offline).
test-workflows:
	timeout 300 node --test --test-timeout=120000 tests/workflows/*.test.mjs

test-e2e:
	timeout 900 node --test --test-timeout=300000 $(E2E_TESTS)

## Fuzz every core parser for FUZZ_SECONDS each (cargo fuzz; see scripts/fuzz.sh).
FUZZ_SECONDS ?= 60
fuzz: install-test
	bash scripts/fuzz.sh $(FUZZ_SECONDS)

## A short fuzz run of each target, as part of make test.
test-fuzz: install-test
	bash scripts/fuzz.sh 15

## Bounded load runs on loopback; see BENCHMARKS.md.
bench: install-dev build cli
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3
	cargo bench --bench usage -- --warm-up-time 1 --measurement-time 3
	# The same with the software SHA-256 the wasm runs (its own target directory: other RUSTFLAGS).
	CARGO_TARGET_DIR=target/bench-soft RUSTFLAGS='--cfg sha2_backend="soft"' cargo bench --bench decision -- --warm-up-time 1 --measurement-time 3
	if command -v valgrind >/dev/null; then bash bench/instructions.sh; else echo "valgrind not installed: instruction counts skipped"; fi
	node bench/limiter.mjs 2000 8 3
	node bench/guard-duration.mjs 2000
	node bench/load.mjs 10 16
	node bench/startup.mjs 5
	node bench/api-scale.mjs 10000 8

## Mixed valid/invalid traffic against a counting origin: nothing invalid
## reaches it, nothing allowed is lost or doubled, memory stays flat (60 s).
load: install-dev build cli
	timeout 300 node bench/counting-load.mjs 60 16

## Where the edge's time goes under load (BENCHMARKS.md): a build that keeps the
## wasm's function names, entered through bench/profile-worker.mjs, then bench/profile.mjs.
## PROFILE_BUILDS="dir …" adds other builds (e.g. an earlier commit's) to its cost table.
profile: install-dev cli
	command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
	CARGO_TARGET_DIR=target/profiling CARGO_PROFILE_RELEASE_STRIP=false worker-build --profiling --out-dir build/profiling
	cp bench/profile-worker.mjs build/profiling/worker/shim.mjs
	CARGO_PROFILE_RELEASE_STRIP=false worker-build --release --out-dir build/profiling-control -- --features control --target-dir target/profiling-control
	PROFILE_CONTROL_DIR=build/profiling-control timeout 600 node bench/profile.mjs 8 16 $(PROFILE_BUILDS)

clean:
	rm -rf build target .wrangler
