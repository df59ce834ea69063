'use strict';
// Benchmark (not a test): predict for 1,000 series through Node versus the same call in Rust
// (`neuro-divergent bench`), same data, model and thread count; prints both and their ratio.
// Usage: node bench/predict.js [THREADS]   (after `npm run build` and `cargo build --release -p neuro-divergent-cli`)
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const nd = require('../lib/index.js');

const threads = Number(process.argv[2] || 1);
nd.setThreads(threads);
const root = path.resolve(__dirname, '..', '..', '..');
const cli = path.join(root, 'target', 'release', 'neuro-divergent');
const nSeries = 1000;
const length = 120;
const h = 24;

// A deterministic synthetic panel: seasonal series with different levels.
const ids = [];
const ds = [];
const y = new Float64Array(nSeries * length);
for (let s = 0; s < nSeries; s++) {
  for (let t = 0; t < length; t++) {
    ids.push(`s${String(s).padStart(4, '0')}`);
    ds.push(t + 1);
    y[s * length + t] = 10 + s % 17 + 3 * Math.sin((2 * Math.PI * t) / (7 + (s % 5))) + 0.01 * t;
  }
}
const data = { unique_id: ids, ds, y };
const csvPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'nd-bench-')), 'panel.csv');
fs.writeFileSync(csvPath, 'unique_id,ds,y\n' + ids.map((id, i) => `${id},${ds[i]},${y[i]}`).join('\n') + '\n');

async function main() {
  const nf = new nd.NeuralForecaster({ models: [new nd.NHITS({ h, inputSize: 2 * h, maxSteps: 5 })] });
  await nf.fit(data);
  await nf.predict({ format: 'columns' });
  const median = async (call) => {
    const times = [];
    for (let i = 0; i < 10; i++) {
      const start = process.hrtime.bigint();
      await call();
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return times.sort((a, b) => a - b)[5];
  };
  const nodeMs = await median(() => nf.predict({ format: 'columns' }));
  const withDataMs = await median(() => nf.predict({ data, format: 'columns' }));
  const out = execFileSync(cli, ['bench', '--data', csvPath, '--horizon', String(h), '--input-size', String(2 * h),
    '--model', 'nhits', '--steps', '5', '--threads', String(threads)], { encoding: 'utf8' });
  const rustMs = Number(/predict_all_series_ms: ([\d.]+)/.exec(out)[1]);
  console.log(`predict ${nSeries} series (NHITS h=${h}, ${threads} thread(s)): Node ${nodeMs.toFixed(2)} ms, ` +
    `Rust ${rustMs.toFixed(2)} ms, ratio ${(nodeMs / rustMs).toFixed(3)} (goal <= 1.2); ` +
    `with ${ids.length} rows of new data passed in from JS: ${withDataMs.toFixed(2)} ms`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
