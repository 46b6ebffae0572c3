#!/usr/bin/env bash
# Proof of MCP conformance: runs the official suite (@modelcontextprotocol/conformance, `conformance server`)
# against test/fixtures/conformance-server.ts, a server built with Portcullis' MCP core, four times:
#   1. plain:   the fixture hands every request to McpServer.handle() with a fixed caller;
#   2. auth:    the fixture runs the real HTTP layer and bearer guard with a JWT verifier (--auth) and the
#      suite, which sends no token, goes through test/fixtures/bearer-forwarder.ts, which adds the token
#      the fixture signed for itself. Before that run, a request without the token must get 401.
#   3. gateway: `portcullis proxy` (run from source, embedded authorization server, a scope file that puts
#      every tool behind the fixture's scope) in front of a plain fixture as its backend; the forwarder adds
#      a token minted by `portcullis token` on the gateway's store. Before that run, a request without the
#      token must get 401.
#   4. gateway-stdio: the same gateway set-up with the fixture as a stdio backend (`proxy -- node … --stdio`:
#      the fixture speaks MCP on stdin/stdout, one process per gateway session).
# Exits non-zero if any scenario fails in the plain or auth run, or if a gateway run has more failed checks
# than the plain run (the gateway must add none).
#
# The suite needs Node >= 22; this machine's Node may be 20. Both the suite and the `node@22` npm package
# are installed into .cache/conformance (git-ignored). The fixture itself runs on the project's Node.
#
# Environment: CONFORMANCE_SUITE = active | all (default all: the active scenarios plus the pending ones).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache/conformance
SUITE_VERSION=0.1.16
SUITE=${CONFORMANCE_SUITE:-all}
RESULTS=$ROOT/.cache/conformance-results
WORK=$(mktemp -d)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

installed_version() {
  node -e 'try { console.log(require(process.argv[1]).version) } catch { console.log("none") }' \
    "$CACHE/node_modules/@modelcontextprotocol/conformance/package.json"
}

if [ "$(installed_version)" != "$SUITE_VERSION" ] || [ ! -x "$CACHE/node_modules/node/bin/node" ]; then
  echo "Installing @modelcontextprotocol/conformance@$SUITE_VERSION and node@22 into .cache/conformance ..."
  mkdir -p "$CACHE"
  # npm 11 runs no install scripts unless allowed; the node package fetches its binary in one.
  cat > "$CACHE/package.json" <<'JSON'
{ "name": "portcullis-conformance-runner", "private": true, "allowScripts": { "node": true } }
JSON
  (cd "$CACHE" && npm install --save-exact --no-audit --no-fund --loglevel=error "@modelcontextprotocol/conformance@$SUITE_VERSION" "node@22")
fi
NODE22=$CACHE/node_modules/node/bin/node
CONFORMANCE=$CACHE/node_modules/@modelcontextprotocol/conformance/dist/index.js
case "$("$NODE22" --version)" in v22.*) ;; *) echo "expected Node 22 at $NODE22" >&2; exit 1 ;; esac

# Starts a process in the background, its stdout to $1; waits until it prints "listening on URL".
start() {
  start_until '^listening on ' "$@"
}

# Starts a process in the background, its stdout to $2; waits until a line of it matches the regex $1.
start_until() {
  local pattern=$1 out=$2
  shift 2
  "$@" >"$out" 2>"$out.err" &
  PIDS+=("$!")
  local pid=$!
  for _ in $(seq 1 300); do
    if grep -q "$pattern" "$out"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "failed to start: $*" >&2
  cat "$out" "$out.err" >&2
  exit 1
}

url_of() { sed -n 's/^listening on //p' "$1" | head -n 1; }

# Runs the suite against $2, results under $RESULTS/$1; prints the summary, returns the suite's status.
run_suite() {
  local name=$1 url=$2
  rm -rf "${RESULTS:?}/$name"
  mkdir -p "$RESULTS/$name"
  echo
  echo "=== conformance ($name): $SUITE suite against $url ==="
  local status=0
  "$NODE22" "$CONFORMANCE" server --url "$url" --suite "$SUITE" -o "$RESULTS/$name" >"$RESULTS/$name/output.txt" 2>&1 || status=$?
  sed -n '/=== SUMMARY ===/,$p' "$RESULTS/$name/output.txt"
  local warnings
  warnings=$(grep -rl '"status": "WARNING"' "$RESULTS/$name" --include=checks.json | wc -l)
  echo "scenarios with warnings: $warnings (full output: ${RESULTS#"$ROOT"/}/$name/output.txt)"
  if [ "$status" -ne 0 ]; then sed -n '/Failed Checks/,/^$/p' "$RESULTS/$name/output.txt" | head -n 40; fi
  return "$status"
}

# Exits unless $2 answers a ping without a token with 401 ($1 names it in the messages).
require_401() {
  local what=$1 url=$2 status
  status=$(node -e '
    fetch(process.argv[1], { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) }).then((r) => console.log(r.status), () => console.log("error"))' "$url")
  if [ "$status" != 401 ]; then
    echo "$what answered $status to a request without a token (expected 401)" >&2
    exit 1
  fi
  echo
  echo "$what refuses a request without a token: 401"
}

failed=0

start "$WORK/plain.out" node --import tsx test/fixtures/conformance-server.ts --port 0
run_suite plain "$(url_of "$WORK/plain.out")" || failed=1

start "$WORK/auth.out" node --import tsx test/fixtures/conformance-server.ts --port 0 --auth
AUTH_URL=$(url_of "$WORK/auth.out")
TOKEN=$(sed -n 's/^token //p' "$WORK/auth.out" | head -n 1)
# The auth run only proves something if the fixture really refuses a request without the token.
require_401 "the --auth fixture" "$AUTH_URL"
export BEARER_TOKEN=$TOKEN
start "$WORK/forwarder.out" node --import tsx test/fixtures/bearer-forwarder.ts --target "$AUTH_URL"
unset BEARER_TOKEN
run_suite auth "$(url_of "$WORK/forwarder.out")" || failed=1

# The gateway, from source (no build needed), as `portcullis` would run it.
PORTCULLIS=(node --import tsx --input-type=module
  -e 'import { main } from "./src/cli/main.ts"; process.exitCode = await main(process.argv.slice(1));')
# Its embedded AS encrypts its keys with this (it would warn without one); only this run's processes see it.
PORTCULLIS_SECRET=$(node -e 'console.log(require("node:crypto").randomBytes(32).toString("base64url"))')
export PORTCULLIS_SECRET PORTCULLIS_ADMIN_PASSWORD=$PORTCULLIS_SECRET
echo '{ "tools": { "*": ["conformance:use"] } }' >"$WORK/tool-scopes.json"

# Runs the suite as $1 through a gateway (its own port and store) whose backend is given by the rest of the
# arguments (`--backend-url URL`, or `-- command args…` for stdio).
run_gateway() {
  local name=$1
  shift
  local port store url token
  port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  store="sqlite:$WORK/$name.db"
  start_until '"msg":"listening"' "$WORK/$name.out" "${PORTCULLIS[@]}" proxy --port "$port" --log-level info \
    --store "$store" --tool-scopes "$WORK/tool-scopes.json" "$@"
  url=http://127.0.0.1:$port/mcp
  require_401 "the gateway ($name)" "$url"
  token=$("${PORTCULLIS[@]}" token --store "$store" --port "$port" --tool-scopes "$WORK/tool-scopes.json" --scope conformance:use)
  export BEARER_TOKEN=$token
  start "$WORK/$name-forwarder.out" node --import tsx test/fixtures/bearer-forwarder.ts --target "$url"
  unset BEARER_TOKEN
  run_suite "$name" "$(url_of "$WORK/$name-forwarder.out")" || true
}

start "$WORK/backend.out" node --import tsx test/fixtures/conformance-server.ts --port 0
run_gateway gateway --backend-url "$(url_of "$WORK/backend.out")"
run_gateway gateway-stdio -- node --import tsx test/fixtures/conformance-server.ts --stdio
unset PORTCULLIS_SECRET PORTCULLIS_ADMIN_PASSWORD

# Failed checks of a run, from the suite's "Total: N passed, M failed".
failed_checks() { sed -n 's/^Total: [0-9]* passed, \([0-9]*\) failed.*/\1/p' "$RESULTS/$1/output.txt" | tail -n 1; }
PLAIN_FAILED=$(failed_checks plain)
echo
for run in gateway gateway-stdio; do
  FAILED=$(failed_checks "$run")
  echo "failed checks: plain ${PLAIN_FAILED:-?}, $run ${FAILED:-?}"
  if [ -z "$PLAIN_FAILED" ] || [ -z "$FAILED" ] || [ "$FAILED" -gt "$PLAIN_FAILED" ]; then
    echo "the $run run has more failed checks than the plain run (or a run printed no total)" >&2
    failed=1
  fi
done

echo
if [ "$failed" -ne 0 ]; then
  echo "conformance: FAILED"
  exit 1
fi
echo "conformance: every scenario passed, without and with the resource server, and through the gateway (HTTP and stdio backends) as directly"
