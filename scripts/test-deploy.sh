#!/usr/bin/env bash
# End-to-end test of the deployment: deploy/local.sh brings up PostgreSQL, two Rust serving
# nodes, one Node serving node and nginx in front; the CLI fits AirPassengers and publishes it
# to the store; forecasts through the load balancer, answered by every node, must equal what
# `neuro-divergent predict` gives for the same version. Everything is stopped at the end.
#
#   scripts/test-deploy.sh [BIN]   BIN: the neuro-divergent binary (default: built in release)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
dir="$(mktemp -d /tmp/nd-deploy.XXXXXX)"
trap 'bash "$root/deploy/local.sh" down "$dir"' EXIT
bin="${1:-}"
if [ -z "$bin" ]; then
    cargo build --release -q -p neuro-divergent-cli
    bin="$root/target/release/neuro-divergent"
fi
eval "$(ND_BIN="$bin" bash deploy/local.sh up "$dir")"
echo "deployment up: load balancer $ND_LB_URL" >&2

"$bin" forecast --data examples/air_passengers.csv --horizon 12 --input-size 24 --model nhits \
    --max-steps 50 --threads 1 --param 'mlp_units=[[64,64]]' \
    --store "$ND_STORE_URL" --name air --alias production >/dev/null
"$bin" predict --store "$ND_STORE_URL" --model air@production >"$dir/predict.csv"

python3 - "$ND_LB_URL" "$dir/predict.csv" <<'PY'
import csv, json, sys, urllib.error, urllib.request

base, predicted = sys.argv[1], sys.argv[2]
with open(predicted) as f:
    expected = [(r["unique_id"], r["ds"], float(r["NHITS"])) for r in csv.DictReader(f)]
served_by = {}
for i in range(30):
    request = urllib.request.Request(
        f"{base}/v1/models/air/forecast",
        data=json.dumps({"alias": "production"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status
        upstream = response.headers["x-upstream"]
        version = response.headers["x-model-version"]
        body = json.load(response)
    assert version == "air@1" and body["version"] == 1, (version, body.get("version"))
    got = [(r["unique_id"], r["ds"], r["NHITS"]) for r in body["forecasts"]]
    assert got == expected, f"request {i} via {upstream}: {got[:2]} != {expected[:2]}"
    served_by[upstream] = served_by.get(upstream, 0) + 1
print(f"30 forecasts through the load balancer equal predict's; answered by {served_by}", file=sys.stderr)
assert len(served_by) == 3, f"expected all 3 nodes to answer, got {served_by}"

# Malformed requests, each sent three times so that every node (Rust and Node) answers it: a
# 4xx each, never a 5xx, and the deployment keeps serving.
cases = [
    (b"{", 400), (b"[1]", 400), (b'{"dta": []}', 400), (b'{"version": 1, "alias": "production"}', 400),
    (b'{"version": "one"}', 400), (b'{"format": "table"}', 400), (b'{"data": 5}', 400),
    (b'{"data": [{"unique_id": "a", "ds": "1960-01-01", "y": "x"}]}', 400),
    (b'{"data": [{"unique_id": "a", "ds": "not a date", "y": 1}]}', 400),
    (b'{"alias": "staging"}', 404), (b'{"version": 99}', 404),
]
tried = 0
for body, status in cases:
    for _ in range(3):
        request = urllib.request.Request(f"{base}/v1/models/air/forecast", data=body,
                                         headers={"content-type": "application/json"}, method="POST")
        try:
            urllib.request.urlopen(request, timeout=30)
            got, upstream = 200, "?"
        except urllib.error.HTTPError as e:
            got, upstream = e.code, e.headers.get("x-upstream")
            message = json.load(e)["error"]["message"]
            assert message, f"{body!r} via {upstream}: no message"
        assert got == status, f"{body!r} via {upstream}: {got}, expected {status}"
        tried += 1
for _ in range(3):
    after = urllib.request.Request(f"{base}/v1/models/air/forecast", data=b"{}", method="POST")
    with urllib.request.urlopen(after, timeout=30) as response:
        assert response.status == 200 and json.load(response)["version"] == 1
print(f"{tried} malformed requests answered 4xx by every node", file=sys.stderr)
PY
