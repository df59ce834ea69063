#!/usr/bin/env bash
# Runs every test: the Rust workspace, then the Node package (installs its npm dependencies,
# builds the addon, installs the TypeScript quickstart's dependencies). Needs only the Rust
# toolchain and Node >= 20.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace
cd bindings/node
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
(cd ../../examples/node && npm ci --no-audit --no-fund)
npm test
