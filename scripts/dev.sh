#!/usr/bin/env bash
# `make dev`: a real SCIM origin on 127.0.0.1:8788, both Workers (the edge
# on http://127.0.0.1:8787/scim/v2 and provgate-control behind it, serving
# the management API), and a demo key minted through that API. Ctrl-C stops it all.
set -euo pipefail
cd "$(dirname "$0")/.."

EDGE_PORT=${EDGE_PORT:-8787}
ORIGIN_PORT=${ORIGIN_PORT:-8788}

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
ensure PEPPER_ID "$(printf %s "$(sed -n 's/^PEPPER=//p' .dev.vars)" | sha256sum | cut -c1-16)"
ensure ORIGIN_SIGNING_SECRET "$(rand)"
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

# Both Workers in one session: the edge (first config: the one on the port)
# binds provgate-control's Durable Objects and service, as deployed.
node_modules/.bin/wrangler dev -c wrangler.toml -c control.wrangler.toml --local --ip 127.0.0.1 --port "$EDGE_PORT" \
  --show-interactive-dev-session=false &
pids+=($!)

for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:${EDGE_PORT}/scim/v2/ServiceProviderConfig" && break
  sleep 0.5
done

# The demo key, through the management API with the dev root token.
key_json=$(curl -s -X POST "http://127.0.0.1:${EDGE_PORT}/_provgate/api/v1/keys" \
  -H "Authorization: Bearer ${root_token}" -H 'Content-Type: application/json' \
  -d '{"label":"make dev demo","scopes":["*"]}')
field() { python3 -c "import json,sys; print(json.load(sys.stdin).get('$1',''))" <<<"$key_json" 2>/dev/null; }
key=$(field key)
key_id=$(field key_id)
[[ -n "$key" ]] || { echo "[dev] minting the demo key failed: $(field detail)"; exit 1; }

cat <<MSG

[dev] provgate is serving http://127.0.0.1:${EDGE_PORT}/scim/v2
[dev] connection doctor: http://127.0.0.1:${EDGE_PORT}/
[dev] demo key ${key_id} (scopes *):
        ${key}
[dev] try:
        curl -s -H 'Authorization: Bearer ${key}' 'http://127.0.0.1:${EDGE_PORT}/scim/v2/Users?startIndex=1&count=2'
[dev] management API (docs/api.md), with the dev root token from .dev.vars (ROOT_TOKEN):
        curl -s -H "Authorization: Bearer \$(sed -n 's/^ROOT_TOKEN=//p' .dev.vars)" http://127.0.0.1:${EDGE_PORT}/_provgate/api/v1/keys
[dev] revoke one:   ./target/debug/provgate key revoke --local <key id>
[dev] Ctrl-C stops everything.

MSG
wait
