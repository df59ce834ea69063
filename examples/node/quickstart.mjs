// Quickstart: forecast AirPassengers 12 months ahead with NHITS from Node.js.
// Run from the repository root after `cd bindings/node && npm install && npm run build`:
//   node examples/node/quickstart.mjs
import { readFileSync } from 'node:fs';
import { NeuralForecaster, NHITS } from '../../bindings/node/lib/index.mjs';

const csv = readFileSync(new URL('../air_passengers.csv', import.meta.url), 'utf8').trim().split('\n');
const data = csv.slice(1).map((line) => {
  const [unique_id, ds, y] = line.split(',');
  return { unique_id, ds, y: Number(y) };
});

const nf = new NeuralForecaster({
  models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 100, mlpUnits: [[64, 64]], randomSeed: 1 })],
  freq: 'M',
});
await nf.fit(data, { onProgress: (e) => e.step === e.maxSteps && console.error(`${e.model}: loss ${e.loss.toFixed(3)}`) });
const forecasts = await nf.predict();
console.log('unique_id,ds,NHITS');
for (const row of forecasts) console.log(`${row.unique_id},${row.ds},${row.NHITS}`);
