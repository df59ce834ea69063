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

/** The CLI binary: `ND_CLI_BINARY` when set (scripts/test.sh sets it), else the one `cargo test` / `cargo build` made. */
function cliBinary() {
  if (process.env.ND_CLI_BINARY) return process.env.ND_CLI_BINARY;
  for (const profile of ['debug', 'release']) {
    const bin = path.join(root, 'target', profile, 'neuro-divergent');
    if (fs.existsSync(bin)) return bin;
  }
  throw new Error('build the CLI first: cargo build -p neuro-divergent-cli');
}

/** Forecast CSV text as rows, the values as numbers (JS and Rust may print a tie's last digit differently). */
function parseForecastCsv(text) {
  return text.trim().split('\n').map((line) => line.split(',').map((v, i) => (i === 2 && v !== 'NHITS' ? Number(v) : v)));
}

/** The CLI's forecasts for the configuration of the TypeScript quickstart (examples/node/quickstart.ts), as rows. */
function quickstartCliForecast() {
  const { execFileSync } = require('node:child_process');
  const out = execFileSync(cliBinary(), ['forecast', '--data', path.join(root, 'examples', 'air_passengers.csv'), '--horizon', '12',
    '--input-size', '24', '--model', 'nhits', '--max-steps', '100', '--param', 'mlp_units=[[64,64]]', '--seed', '1', '--freq', 'M'], { encoding: 'utf8' });
  return parseForecastCsv(out);
}

module.exports = { root, airPassengers, cliBinary, parseForecastCsv, quickstartCliForecast };
