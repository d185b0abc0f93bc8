#!/usr/bin/env bash
# make install in a fresh copy of this checkout, on a machine without
# apt-get and Chromium (simulated: a PATH holding every tool of this one but
# those), still builds, deploys (dry run) and runs `make dev`; make
# install-test skips Chromium with a message and goes on; and the doctor's
# browser test then skips visibly, or fails under CI=true.
#
# Kept fast: the cargo tools installed here are reused (it is the skip logic
# under test), node_modules and .venv are linked from this checkout (their
# pins already match, so the installer leaves them alone), and the copy's
# cargo target directory persists in target/fresh-clone between runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$root/target/fresh-clone
clone=$work/repo
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
not_ok() { echo "not ok - $*"; fail=$((fail + 1)); }

# The copy: every file git tracks or would track, as it is in the work tree
# (mtimes kept, so cargo's fingerprints match the last run's).
rm -rf "$clone"
mkdir -p "$clone" "$work/target"
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -xf - -C "$clone"
ln -s "$root/node_modules" "$clone/node_modules"
ln -s "$root/.venv" "$clone/.venv"
ln -s "$work/target" "$clone/target"

# A PATH with every command of this one except apt-get, apt and the browsers.
bin=$work/bin
rm -rf "$bin"
mkdir -p "$bin"
IFS=: read -ra dirs <<<"$HOME/.cargo/bin:$PATH"
for dir in "${dirs[@]}"; do
  [[ -d "$dir" ]] || continue
  for tool in "$dir"/*; do
    name=${tool##*/}
    case "$name" in apt-get | apt | chromium | chromium-browser | google-chrome | google-chrome-stable) continue ;; esac
    [[ -x "$tool" && ! -e "$bin/$name" ]] && ln -s "$tool" "$bin/$name"
  done
done
bare=(env -u CHROMIUM_PATH -u CI PATH="$bin" HOME="$HOME")
in_clone() { (cd "$clone" && "${bare[@]}" "$@"); }
in_clone bash -c '! command -v apt-get && ! command -v chromium' >/dev/null && ok "the PATH has neither apt-get nor chromium" || not_ok "apt-get or chromium still on the PATH"

log=$work/log
mkdir -p "$log"
if in_clone make install >"$log/install.txt" 2>&1 && ! grep -qi chromium "$log/install.txt"; then
  ok "make install succeeds and does not touch the browser"
else
  not_ok "make install"; tail -20 "$log/install.txt"
fi
if in_clone make install-test >"$log/install-test.txt" 2>&1 \
   && grep -q '^\[install\] skipped: chromium: no apt-get on this machine' "$log/install-test.txt" \
   && grep -q '^\[install\] ready (test)' "$log/install-test.txt"; then
  ok "make install-test skips Chromium with a message and finishes"
else
  not_ok "make install-test"; tail -20 "$log/install-test.txt"
fi

if in_clone make build >"$log/build.txt" 2>&1 && [[ -s "$clone/build/index_bg.wasm" ]]; then
  ok "make build"
else
  not_ok "make build"; tail -30 "$log/build.txt"
fi
if in_clone node_modules/.bin/wrangler deploy --dry-run --env staging --outdir build/dry-run-staging >"$log/deploy.txt" 2>&1 \
   && ls "$clone"/build/dry-run-staging/*.wasm >/dev/null 2>&1; then
  ok "wrangler deploy --dry-run --env staging"
else
  not_ok "wrangler deploy --dry-run"; tail -20 "$log/deploy.txt"
fi

# make dev on free ports: up when its discovery answers, then stopped.
ports=$(python3 -c 'import socket
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
edge_port=$(sed -n 1p <<<"$ports")
origin_port=$(sed -n 2p <<<"$ports")
(cd "$clone" && exec setsid "${bare[@]}" EDGE_PORT="$edge_port" ORIGIN_PORT="$origin_port" make dev >"$log/dev.txt" 2>&1) &
dev=$!
status=000
for _ in $(seq 1 240); do
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$edge_port/scim/v2/ServiceProviderConfig" || true)
  # Up, and make dev has said so (it prints once its own probe answers).
  [[ "$status" == 200 ]] && grep -q 'provgate is serving' "$log/dev.txt" && break
  kill -0 "$dev" 2>/dev/null || break
  sleep 0.5
done
kill -TERM -- "-$dev" 2>/dev/null || true
wait "$dev" 2>/dev/null || true
if [[ "$status" == 200 ]] && grep -q 'provgate is serving' "$log/dev.txt"; then
  ok "make dev serves discovery"
else
  not_ok "make dev (last status $status)"; tail -30 "$log/dev.txt"
fi

# The browser test without a browser: skipped, saying so; under CI=true, failed.
doctor=(node --test --test-timeout=60000 tests/e2e/doctor.test.mjs)
if in_clone "${doctor[@]}" >"$log/doctor.txt" 2>&1 && grep -q '# SKIP no Chromium (chromium)' "$log/doctor.txt"; then
  ok "without Chromium the doctor's browser test is skipped with a visible message"
else
  not_ok "the doctor's browser test without Chromium"; tail -20 "$log/doctor.txt"
fi
if ! (cd "$clone" && "${bare[@]}" CI=true "${doctor[@]}") >"$log/doctor-ci.txt" 2>&1 && grep -q 'CI=true: a missing browser fails the run' "$log/doctor-ci.txt"; then
  ok "under CI=true a missing Chromium fails the browser test"
else
  not_ok "under CI=true the browser test did not fail"; tail -20 "$log/doctor-ci.txt"
fi

[[ -n "${KEEP:-}" ]] || rm -rf "$clone" "$bin"
echo "fresh clone: $pass passed, $fail failed"
[[ $fail == 0 ]]
