#!/usr/bin/env bash
# Runs every test: the Rust workspace (the model store's cases on SQLite and on a throwaway
# PostgreSQL cluster this script starts on a loopback port and stops at the end), then the Node
# package (installs its npm dependencies, builds the addon in the dev profile from what the Rust
# tests compiled, installs the TypeScript examples' dependencies), then the deployment end to end
# (scripts/test-deploy.sh). Needs the Rust toolchain, Node >= 20 and Python 3; installs Debian's
# postgresql and nginx packages when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_script="$PWD/scripts/test-postgres.sh"
pg_dir="$(mktemp -d /tmp/nd-test-postgres.XXXXXX)"
# The steps below change directory, so the cleanup names the script by its absolute path.
trap 'bash "$pg_script" stop "$pg_dir"' EXIT
ND_TEST_POSTGRES_URL="$(bash "$pg_script" start "$pg_dir")"
export ND_TEST_POSTGRES_URL ND_REQUIRE_POSTGRES=1
# Every cargo build below names the host's triple, as napi's addon build always does, so the
# addon's build finds the dependencies `cargo test` compiled instead of compiling them again.
host="$(rustc -vV | sed -n 's/^host: //p')"
export ND_CLI_BINARY="$PWD/target/$host/debug/neuro-divergent"
cargo test --workspace --target "$host"
cd bindings/node
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build:test
(cd ../../examples/node && npm ci --no-audit --no-fund)
npm test
cd ../..
# The deployment end to end (PostgreSQL, two Rust nodes, one Node node, nginx), with the
# binary the Rust tests built.
bash scripts/test-deploy.sh "$ND_CLI_BINARY"
