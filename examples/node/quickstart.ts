// Quickstart: forecast AirPassengers 12 months ahead with NHITS from TypeScript.
// From this folder (after building the addon: `cd bindings/node && npm install && npm run build`):
//   npm install && npm start
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NeuralForecaster, NHITS, type SeriesRecord } from 'neuro-divergent';

async function main(): Promise<void> {
  const csv = readFileSync(join(__dirname, '..', '..', 'air_passengers.csv'), 'utf8').trim().split('\n');
  const data: SeriesRecord[] = csv.slice(1).map((line) => {
    const [unique_id, ds, y] = line.split(',');
    return { unique_id, ds, y: Number(y) };
  });

  const nf = new NeuralForecaster({
    models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 100, mlpUnits: [[64, 64]], randomSeed: 1 })],
    freq: 'M',
  });
  await nf.fit(data, {
    onProgress: (e) => {
      if (e.step === e.maxSteps) console.error(`${e.model}: final loss ${e.loss.toFixed(3)}`);
    },
  });
  const forecasts = await nf.predict();
  console.log('unique_id,ds,NHITS');
  for (const row of forecasts) console.log(`${row.unique_id},${row.ds},${row.NHITS}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
