'use strict';
// Shared fixtures for the Node tests.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');

/** AirPassengers as records. */
function airPassengers() {
  const lines = fs.readFileSync(path.join(root, 'examples', 'air_passengers.csv'), 'utf8').trim().split('\n');
  return lines.slice(1).map((line) => {
    const [unique_id, ds, y] = line.split(',');
    return { unique_id, ds, y: Number(y) };
  });
}

/** The CLI binary built by `cargo test` / `cargo build`. */
function cliBinary() {
  for (const profile of ['debug', 'release']) {
    const bin = path.join(root, 'target', profile, 'neuro-divergent');
    if (fs.existsSync(bin)) return bin;
  }
  throw new Error('build the CLI first: cargo build -p neuro-divergent-cli');
}

module.exports = { root, airPassengers, cliBinary };
