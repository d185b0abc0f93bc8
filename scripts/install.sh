#!/usr/bin/env bash
# Installs everything provgate's build, dev server and tests need, at the
# pinned versions. Idempotent: each step is skipped when already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
CARGO_FUZZ_VERSION=0.13.2
# Must equal the wasm-bindgen version in Cargo.lock.
WASM_BINDGEN_VERSION=0.2.130
# http-sfv: the example verifier's Structured Fields parser; http-message-signatures:
# the independent RFC 9421 implementation the test origin checks every forward with.
PY_PACKAGES=(scim2-server==0.8.3 "scim2-tester[httpx2]==0.5.2" scim2-cli==0.6.0 waitress==3.0.2 http-sfv==0.9.9 http-message-signatures==3.0.0)

say() { printf '[install] %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(worker-build --version 2>/dev/null || true)" != *"$WORKER_BUILD_VERSION"* ]]; then
  say "worker-build $WORKER_BUILD_VERSION (several minutes)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION"
fi

# worker-build would download wasm-bindgen from GitHub; install it from crates.io
# instead (no --locked: its locked webpki-roots is not resolvable).
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != *"$WASM_BINDGEN_VERSION"* ]]; then
  say "wasm-bindgen-cli $WASM_BINDGEN_VERSION (several minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# The fuzz runner (make fuzz, make test-fuzz); about a minute to build.
if [[ "$(cargo fuzz --version 2>/dev/null || true)" != *"$CARGO_FUZZ_VERSION"* ]]; then
  say "cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

# Exact pins live in package.json; a plain install honours them.
if ! node -e 'for (const p of ["wrangler","miniflare","binaryen"]) { const want = require("./package.json").devDependencies[p]; if (require(`./node_modules/${p}/package.json`).version !== want) process.exit(1) }' 2>/dev/null; then
  say "npm packages (wrangler, miniflare, binaryen)"
  npm install --no-audit --no-fund --loglevel=error
fi

if ! .venv/bin/python -c 'import scim2_server, scim2_tester, waitress, http_sfv, http_message_signatures' 2>/dev/null \
   || [[ "$(.venv/bin/pip freeze 2>/dev/null | grep -ci -E '^(scim2-server==0.8.3|scim2-tester==0.5.2|scim2-cli==0.6.0|waitress==3.0.2|http.sfv==0.9.9|http-message-signatures==3.0.0)$')" != 6 ]]; then
  say "python venv with the SCIM origin and scim2-tester"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
fi
# The connection doctor's browser test drives Debian's Chromium (a browser
# download of a test tool's own cannot work here).
if ! command -v chromium >/dev/null 2>&1; then
  say "chromium (Debian package)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
say "ready"
