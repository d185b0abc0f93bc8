#!/usr/bin/env bash
# `make dev`: a real SCIM origin on 127.0.0.1:8788, the edge on
# http://127.0.0.1:8787/scim/v2, and a demo key minted through the edge's
# management API with the CLI (`--local`). Ctrl-C stops it all.
# The edge's port is a small proxy (scripts/client-address-proxy.mjs) that sets
# CF-Connecting-IP from the socket, as Cloudflare does; wrangler dev runs
# behind it on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."

EDGE_PORT=${EDGE_PORT:-8787}
ORIGIN_PORT=${ORIGIN_PORT:-8788}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
WRANGLER_PORT=${WRANGLER_PORT:-$(free_port)}

# Local secrets live in .dev.vars (git-ignored): generated once, and any
# setting a newer provgate needs is appended without touching the others.
rand() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }
ensure() {
  grep -q "^$1=" .dev.vars 2>/dev/null || { echo "$1=$2" >> .dev.vars; echo "[dev] .dev.vars: set $1"; }
}
[[ -f .dev.vars ]] || echo "# Local settings for \`make dev\` (wrangler reads this file). Never commit it." > .dev.vars
ensure PEPPER "$(rand)"
ensure ORIGIN_AUTHORIZATION "Bearer $(rand)"
ensure ORIGIN_URL "http://127.0.0.1:${ORIGIN_PORT}/v2"
ensure ROOT_TOKEN "$(rand)"
ensure ORIGIN_SIGNING_SECRET "$(rand)"
# OAuth on (docs/oauth.md): the demo key may also fetch client-credentials tokens.
ensure TOKEN_SIGNING_SECRET "$(rand)"
# The pepper's published fingerprint, as core::lookup::pepper_id computes it.
ensure PEPPER_ID "$(python3 -c 'import hashlib, sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:16])' "$(sed -n 's/^PEPPER=//p' .dev.vars)")"
origin_token=$(sed -n 's/^ORIGIN_AUTHORIZATION=Bearer //p' .dev.vars)
origin_url=$(sed -n 's/^ORIGIN_URL=//p' .dev.vars)
signing_secret=$(sed -n 's/^ORIGIN_SIGNING_SECRET=//p' .dev.vars)
root_token=$(sed -n 's/^ROOT_TOKEN=//p' .dev.vars)

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "[dev] stopped"
}
trap cleanup INT TERM EXIT

.venv/bin/python tests/origin/scim_origin.py --port "$ORIGIN_PORT" --bearer-token "$origin_token" \
  --signing-secret "$signing_secret" &
pids+=($!)
echo "[dev] SCIM origin (scim2-server) on ${origin_url}, accepting only requests signed by the edge"

# Both Workers in one local runtime: the edge (wrangler.toml) and, bound to
# it, provgate-control (the management API and the Durable Objects).
node_modules/.bin/wrangler dev -c wrangler.toml -c control.wrangler.toml --local --ip 127.0.0.1 --port "$WRANGLER_PORT" \
  --show-interactive-dev-session=false &
pids+=($!)
node scripts/client-address-proxy.mjs "$EDGE_PORT" "$WRANGLER_PORT" &
pids+=($!)

for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:${WRANGLER_PORT}/scim/v2/ServiceProviderConfig" && break
  sleep 0.5
done

# The CLI's --local is this edge with the ROOT_TOKEN of .dev.vars.
export PROVGATE_LOCAL_PORT=$EDGE_PORT
cli="./target/debug/provgate"
[[ $EDGE_PORT == 8787 ]] || cli="PROVGATE_LOCAL_PORT=$EDGE_PORT ./target/debug/provgate"
key_out=$(./target/debug/provgate key mint --local --label "make dev demo" --scopes '*' --auth-modes bearer,client_credentials 2>&1) || echo "[dev] minting the demo key failed: $key_out"
key=$(sed -n 's/^key: *//p' <<<"$key_out")
key_id=$(sed -n 's/^key id: *//p' <<<"$key_out")

cat <<MSG

[dev] provgate is serving http://127.0.0.1:${EDGE_PORT}/scim/v2
[dev] connection doctor: http://127.0.0.1:${EDGE_PORT}/
[dev] demo key ${key_id} (scopes *):
        ${key}
[dev] try:
        curl -s -H 'Authorization: Bearer ${key}' 'http://127.0.0.1:${EDGE_PORT}/scim/v2/Users?startIndex=1&count=2'
[dev] OAuth:        curl -s -d grant_type=client_credentials -u '${key_id}:${key}' http://127.0.0.1:${EDGE_PORT}/oauth/token
[dev] mint another: ${cli} key mint --local --label 'Okta test' --scopes users:read,users:write --preset okta
[dev] list them:    ${cli} key list --local
[dev] revoke one:   ${cli} key revoke --local <key id>
[dev] check it all: ${cli} doctor --local
[dev] the API:      curl -s -H "Authorization: Bearer \$(sed -n 's/^ROOT_TOKEN=//p' .dev.vars)" http://127.0.0.1:${EDGE_PORT}/_provgate/api/v1/keys
[dev] Ctrl-C stops everything.

MSG
wait
