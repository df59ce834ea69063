#!/usr/bin/env bash
# Runs every test: the Rust workspace (the model store's cases on SQLite and on a throwaway
# PostgreSQL cluster this script starts on a loopback port and stops at the end), then the Node
# package (installs its npm dependencies, builds the addon, installs the TypeScript examples'
# dependencies), then the deployment end to end (scripts/test-deploy.sh). Needs the Rust
# toolchain, Node >= 20 and Python 3; installs Debian's postgresql and nginx packages when they
# are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
pg_script="$PWD/scripts/test-postgres.sh"
pg_dir="$(mktemp -d /tmp/nd-test-postgres.XXXXXX)"
# The steps below change directory, so the cleanup names the script by its absolute path.
trap 'bash "$pg_script" stop "$pg_dir"' EXIT
ND_TEST_POSTGRES_URL="$(bash "$pg_script" start "$pg_dir")"
export ND_TEST_POSTGRES_URL ND_REQUIRE_POSTGRES=1
cargo test --workspace
cd bindings/node
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
(cd ../../examples/node && npm ci --no-audit --no-fund)
npm test
cd ../..
# The deployment end to end (PostgreSQL, two Rust nodes, one Node node, nginx), with the
# binary the Rust tests built.
bash scripts/test-deploy.sh "$PWD/target/debug/neuro-divergent"
