#!/usr/bin/env bash
# The whole deployment on one machine, without containers: a PostgreSQL model store, serving
# nodes on loopback ports (Rust `neuro-divergent serve` and the Node example server) and nginx in
# front of them with retries on the next node.
#
#   deploy/local.sh up DIR     starts everything with its files in DIR (created) and prints
#                              ND_LB_URL=... and ND_STORE_URL=... for `eval`
#   deploy/local.sh down DIR   stops everything it started (each by its own process id) and
#                              removes DIR
#
# Settings (environment): ND_RUST_NODES (default 2), ND_NODE_NODES (default 1; 0 leaves the Node
# server out), ND_BIN (the neuro-divergent binary; default: built with cargo --release),
# ND_SERVE_ARGS (extra arguments of every `serve`). Installs Debian's nginx package when nginx
# is missing, and PostgreSQL as scripts/test-postgres.sh does.
set -euo pipefail

command="${1:?usage: deploy/local.sh up|down DIR}"
dir="${2:?usage: deploy/local.sh up|down DIR}"
root="$(cd "$(dirname "$0")/.." && pwd)"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until http://127.0.0.1:PORT/healthz answers 200 (30 s at most).
wait_healthy() {
    python3 - "$1" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/healthz"
deadline = time.time() + 30
while True:
    try:
        if urllib.request.urlopen(url, timeout=1).status == 200:
            break
    except OSError:
        pass
    if time.time() > deadline:
        sys.exit(f"{url} did not answer within 30 s")
    time.sleep(0.1)
PY
}

# Stops the process whose id is in FILE: TERM, then KILL after 10 s.
stop_pid_file() {
    [ -f "$1" ] || return 0
    local pid
    pid="$(cat "$1")"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

up() {
    mkdir -p "$dir/pids" "$dir/logs"
    chmod 755 "$dir"
    if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
        echo "installing Debian's nginx package" >&2
        if [ "$(id -u)" = 0 ]; then sudo_cmd=(); else sudo_cmd=(sudo); fi
        "${sudo_cmd[@]}" apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq nginx-light >&2 \
            || DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq nginx >&2
    fi
    local nginx
    nginx="$(command -v nginx || echo /usr/sbin/nginx)"
    local bin="${ND_BIN:-}"
    if [ -z "$bin" ]; then
        (cd "$root" && cargo build --release -q -p neuro-divergent-cli) >&2
        bin="$root/target/release/neuro-divergent"
    fi

    local store
    store="$(bash "$root/scripts/test-postgres.sh" start "$dir/pg")"
    echo "$store" >"$dir/store_url"

    local upstreams=""
    local k port
    for k in $(seq 1 "${ND_RUST_NODES:-2}"); do
        port="$(free_port)"
        # shellcheck disable=SC2086 # ND_SERVE_ARGS is a list of arguments
        nohup "$bin" serve --store "$store" --bind "127.0.0.1:$port" --refresh 1 ${ND_SERVE_ARGS:-} \
            >"$dir/logs/rust-$k.log" 2>&1 &
        echo $! >"$dir/pids/rust-$k.pid"
        wait_healthy "$port"
        upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
    done
    for k in $(seq 1 "${ND_NODE_NODES:-1}"); do
        if [ ! -f "$root/examples/node/dist/server.js" ]; then
            (cd "$root/examples/node" && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npx tsc -p .) >&2
        fi
        port="$(free_port)"
        nohup node "$root/examples/node/dist/server.js" --store "$store" --bind "127.0.0.1:$port" \
            --refresh 1 >"$dir/logs/node-$k.log" 2>&1 &
        echo $! >"$dir/pids/node-$k.pid"
        wait_healthy "$port"
        upstreams+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
    done

    local lb
    lb="$(free_port)"
    mkdir -p "$dir/nginx"
    chmod 777 "$dir/nginx"
    cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/body;
    proxy_temp_path $dir/nginx/proxy;
    fastcgi_temp_path $dir/nginx/fastcgi;
    uwsgi_temp_path $dir/nginx/uwsgi;
    scgi_temp_path $dir/nginx/scgi;
    client_max_body_size 16m;
    upstream neuro_divergent {
$upstreams        keepalive 32;
    }
    server {
        listen 127.0.0.1:$lb;
        location / {
            proxy_pass http://neuro_divergent;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # A node that fails or is overloaded hands the request to the next one (forecasts
            # change nothing, so a POST may be retried).
            proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;
            proxy_next_upstream_tries 3;
            proxy_connect_timeout 1s;
            proxy_read_timeout 60s;
            add_header X-Upstream \$upstream_addr always;
        }
    }
}
CONF
    "$nginx" -p "$dir/nginx" -c "$dir/nginx.conf" -e "$dir/logs/nginx-error.log"
    wait_healthy "$lb"
    echo "ND_LB_URL=http://127.0.0.1:$lb"
    echo "ND_STORE_URL=$store"
}

down() {
    [ -d "$dir" ] || return 0
    stop_pid_file "$dir/nginx.pid"
    local f
    for f in "$dir"/pids/*.pid; do
        stop_pid_file "$f"
    done
    bash "$root/scripts/test-postgres.sh" stop "$dir/pg"
    rm -rf "$dir"
}

case "$command" in
up) up ;;
down) down ;;
*)
    echo "usage: deploy/local.sh up|down DIR" >&2
    exit 2
    ;;
esac
