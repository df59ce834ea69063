#!/usr/bin/env bash
# Benchmark (not a test): forecasts per second and latency of the serving deployment under wrk,
# side by side with a FastAPI server around NeuralForecast's predict on the same model
# configuration, on this machine, in one run, as ratios.
#
#   benches/serve_load.sh [NF_VENV] [SECONDS]
#
# Ours: deploy/local.sh with 3 Rust nodes (one forecast worker each, response cache off so that
# every request is computed) behind nginx, batching off and on (--batch-window-ms 2). Theirs:
# three ../shared/peers/neuralforecast/serve_nf.py processes, 1 thread each, behind nginx. The model:
# NHITS h=12, input_size=24, 50 steps on AirPassengers, seed 1, on both sides. Requests: the
# stored series continued (empty body), one series of 144 points in the body, and 100 series of
# 48 points. wrk: 1 thread, 8 connections, SECONDS (default 10) per case, loopback only. Needs
# wrk (Debian's package) and the venv of ../shared/peers/neuralforecast/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
venv="${1:-$HOME/.cache/nd-peers/nf-venv}"
seconds="${2:-10}"
peers="$root/../shared/peers/neuralforecast"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
[ -x "$venv/bin/python" ] || { echo "needs NeuralForecast's venv: $peers/setup.sh" >&2; exit 2; }

dir="$(mktemp -d /tmp/nd-load.XXXXXX)"
chmod 755 "$dir" # the PostgreSQL cluster inside runs as postgres when this runs as root
nf_pids=()
nf_ports=()
nginx_pid_file=""
cleanup() {
    [ -n "$nginx_pid_file" ] && [ -f "$nginx_pid_file" ] && kill -TERM "$(cat "$nginx_pid_file")" 2>/dev/null
    for pid in "${nf_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${nf_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    bash "$root/deploy/local.sh" down "$dir/deploy" || true
    rm -rf "$dir"
    true
}
trap cleanup EXIT

cargo build --release -q -p neuro-divergent-cli
bin="$root/target/release/neuro-divergent"

# Request bodies.
python3 - "$root/examples/air_passengers.csv" "$dir" <<'PY'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1])))
out = sys.argv[2]
one = [{"unique_id": "a", "ds": r["ds"], "y": float(r["y"])} for r in rows]
hundred = [{"unique_id": f"s{k}", "ds": r["ds"], "y": float(r["y"]) + k} for k in range(100) for r in rows[-48:]]
for name, body in [("stored", {}), ("one", {"data": one}), ("hundred", {"data": hundred})]:
    json.dump(body, open(f"{out}/{name}.json", "w"))
PY
cat >"$dir/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY"), "r")
wrk.body = f:read("*a")
f:close()
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
LUA

# Prints "requests/s p50_ms p99_ms errors requests" for BODY against URL.
load() {
    BODY="$dir/$2.json" wrk -t1 -c8 -d"${seconds}s" --timeout 10s -s "$dir/post.lua" "$1" 2>&1 \
        | awk '/^RESULT/ { print $2, $3, $4, $5, $6 }'
}

declare -A result
for window in 0 2; do
    ND_RUST_NODES=3 ND_NODE_NODES=0 ND_BIN="$bin" \
        ND_SERVE_ARGS="--workers 1 --cache-mb 0 --batch-window-ms $window" \
        bash deploy/local.sh up "$dir/deploy" >"$dir/env"
    # shellcheck disable=SC1091
    eval "$(cat "$dir/env")"
    "$bin" forecast --data examples/air_passengers.csv --horizon 12 --input-size 24 --model nhits \
        --max-steps 50 --seed 1 --threads 1 --store "$ND_STORE_URL" --name air >/dev/null 2>&1
    for body in stored one hundred; do
        load "$ND_LB_URL/v1/models/air/forecast" "$body" >/dev/null # warm up: load the model
        result["ours-$window-$body"]="$(load "$ND_LB_URL/v1/models/air/forecast" "$body")"
        echo "ours window=$window $body: ${result[ours-$window-$body]}" >&2
    done
    bash deploy/local.sh down "$dir/deploy"
done

# NeuralForecast: three serve_nf.py processes (1 uvicorn worker, 1 thread each), each fitting
# the same NHITS at start, behind nginx like our nodes.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
upstreams=""
for k in 1 2 3; do
    port="$(free_port)"
    (cd "$peers" && exec "$venv/bin/python" serve_nf.py --port "$port" --workers 1 --threads 1 \
        --steps 50 --data "$root/examples/air_passengers.csv") >"$dir/nf-$k.log" 2>&1 &
    nf_pids+=("$!")
    upstreams+="server 127.0.0.1:$port max_fails=1 fail_timeout=2s; "
    nf_ports+=("$port")
done
for port in "${nf_ports[@]}"; do
    python3 - "$port" <<'PY'
import sys, time, urllib.request
deadline = time.time() + 600
while True:
    try:
        if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1).status == 200:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit("serve_nf.py did not start within 600 s")
    time.sleep(0.5)
PY
done
lb="$(free_port)"
mkdir -p "$dir/nginx" && chmod 777 "$dir/nginx"
cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    client_max_body_size 16m;
    upstream nf { $upstreams keepalive 32; }
    server {
        listen 127.0.0.1:$lb;
        location / { proxy_pass http://nf; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
CONF
"$(command -v nginx || echo /usr/sbin/nginx)" -p "$dir/nginx" -c "$dir/nginx.conf" -e "$dir/nginx-error.log"
nginx_pid_file="$dir/nginx.pid"
for body in stored one hundred; do
    load "http://127.0.0.1:$lb/forecast" "$body" >/dev/null
    result["nf-$body"]="$(load "http://127.0.0.1:$lb/forecast" "$body")"
    echo "nf $body: ${result[nf-$body]}" >&2
done

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $("$bin" info 2>/dev/null | grep -i kernel | head -1)"
echo "wrk -t1 -c8 -d${seconds}s; ours: 3 nodes x 1 worker behind nginx, cache off; NF: 3 serve_nf.py x 1 thread behind nginx"
printf '%-8s %-22s %10s %8s %8s %7s %12s\n' request server "req/s" "p50 ms" "p99 ms" errors "vs NF req/s"
for body in stored one hundred; do
    read -r nf_rps nf_p50 nf_p99 nf_err _ <<<"${result[nf-$body]}"
    printf '%-8s %-22s %10s %8s %8s %7s %12s\n' "$body" "NeuralForecast+FastAPI" "$nf_rps" "$nf_p50" "$nf_p99" "$nf_err" "1.00"
    for window in 0 2; do
        read -r rps p50 p99 err _ <<<"${result[ours-$window-$body]}"
        label="neuro-divergent"
        [ "$window" = 2 ] && label="neuro-divergent batch2"
        ratio="$(python3 -c "print(f'{$rps / $nf_rps:.1f}' if $nf_rps > 0 else 'n/a')")"
        printf '%-8s %-22s %10s %8s %8s %7s %12s\n' "$body" "$label" "$rps" "$p50" "$p99" "$err" "$ratio"
    done
done
