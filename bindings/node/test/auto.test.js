'use strict';
// Auto models (hyperparameter search before the fit) and ensembles from Node.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const nd = require('../lib/index.js');
const { airPassengers, cliBinary, parseForecastCsv, root } = require('../test-support/helpers.js');

const { NeuralForecaster, ModelStore, AutoMLP, AutoNHITS, AutoModel, MLP, codes } = nd;
const space = {
  hidden_size: { choice: [16, 32] },
  learning_rate: { loguniform: [0.0005, 0.01] },
  scaler_type: { choice: ['robust', 'standard'] },
  max_steps: 20,
  input_size: 24,
};

test('an Auto class exists for every model with a default space, and checks its options', () => {
  assert.ok(new AutoNHITS({ h: 12 }) instanceof AutoModel);
  assert.equal(new AutoNHITS({ h: 12 }).name, 'AutoNHITS');
  assert.equal(new AutoNHITS({ h: 12, alias: 'searched' }).name, 'searched');
  assert.equal(typeof nd.AutoChronosBolt, 'undefined', 'a pretrained model has no default space');
  const invalid = (options, pattern) => assert.throws(() => new AutoMLP(options),
    (e) => e.code === codes.INVALID_CONFIG && pattern.test(e.message), JSON.stringify(options));
  invalid({ h: 12, numSamples: 0 }, /AutoMLP: numSamples must be a positive 32-bit integer, got 0/);
  invalid({ h: 12, space: [1] }, /AutoMLP: space must be an object/);
  invalid({ h: 12, halving: 'yes' }, /AutoMLP: halving must be true or false/);
  invalid({ h: 12, seed: 2 ** 32 }, /AutoMLP: seed must be a non-negative 32-bit integer/);
  invalid({ h: 12, valSize: -1 }, /AutoMLP: valSize must be a non-negative 32-bit integer/);
  invalid({ h: 12, refitWithVal: 1 }, /AutoMLP: refitWithVal must be true or false/);
  invalid({ h: 12, nBlocks: 2 }, /AutoMLP has no option 'nBlocks'; its options are: h, inputSize, alias, numSamples, search/);
  invalid({ h: 0 }, /AutoMLP: h must be a positive integer/);
  // The rest is checked when the forecaster is made, before any data is read.
  const refused = (model, pattern) => assert.throws(() => new NeuralForecaster({ models: [model] }),
    (e) => e.code === codes.INVALID_CONFIG && pattern.test(e.message));
  refused(new AutoMLP({ h: 12, search: 'grid' }), /grid/);
  refused(new AutoMLP({ h: 12, space: { n_blocks: { choice: [1, 2] } } }), /search space key 'n_blocks'/);
  refused(new AutoMLP({ h: 12, halvingGrace: 5 }), /halvingGrace applies to successive halving/);
});

test('AutoMLP searches as the CLI does: same trials, same chosen model, same forecasts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nd-auto-'));
  try {
    const spaceFile = path.join(dir, 'space.json');
    fs.writeFileSync(spaceFile, JSON.stringify(space));
    // The CLI's --seed seeds the search and sets the models' random_seed (searched only where
    // the space has it; this one has not): here `seed` and `randomSeed`.
    const nf = new NeuralForecaster({ models: [new AutoMLP({ h: 12, numSamples: 3, space, seed: 3, randomSeed: 3 })], freq: 'M' });
    await nf.fit(airPassengers());
    assert.deepEqual(nf.modelNames, ['AutoMLP']);
    const history = nf.searches.AutoMLP;
    assert.equal(history.model, 'MLP');
    assert.equal(history.trials.length, 3);
    assert.ok(history.trials.every((t) => t.state === 'complete' && Number.isFinite(t.loss) && t.steps === 20));
    const best = Math.min(...history.trials.map((t) => t.loss));
    assert.equal(history.trials[history.best].loss, best);

    // Both at their default thread count, as in the quickstart test.
    const trials = path.join(dir, 'trials.json');
    const cli = execFileSync(cliBinary(), ['forecast', '--data', path.join(root, 'examples', 'air_passengers.csv'),
      '--horizon', '12', '--model', 'auto_mlp', '--num-samples', '3', '--space', spaceFile, '--seed', '3',
      '--freq', 'M', '--trials', trials], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const cliSearch = JSON.parse(fs.readFileSync(trials, 'utf8')).AutoMLP;
    assert.deepEqual(history.trials.map((t) => [t.config, t.loss]), cliSearch.trials.map((t) => [t.config, t.loss]));
    assert.equal(history.best, cliSearch.best);
    const rows = (await nf.predict()).map((r) => [r.unique_id, r.ds, r.AutoMLP]);
    assert.deepEqual(rows, parseForecastCsv(cli).slice(1));

    // The search travels with the model through a checkpoint.
    await nf.saveCheckpoint(path.join(dir, 'auto.ndm'));
    const loaded = await NeuralForecaster.loadCheckpoint(path.join(dir, 'auto.ndm'));
    assert.deepEqual(loaded.searches, nf.searches);
    assert.deepEqual(await loaded.predict(), await nf.predict());
    // The model store keeps the search too.
    const store = await ModelStore.open(`sqlite:${path.join(dir, 'models.db')}`);
    await store.publish(nf, 'air');
    const fromStore = await NeuralForecaster.loadFromStore(store, 'air');
    assert.deepEqual(fromStore.searches, nf.searches);
    assert.equal(fromStore.storeVersion.version, 1);
    await store.close();
    // Refitting the loaded model trains the chosen configuration again, its search kept.
    await loaded.fit(airPassengers());
    assert.deepEqual(loaded.searches, nf.searches);
    assert.deepEqual(await loaded.predict(), await nf.predict());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the options given to an Auto model are fixed, the others searched', async () => {
  const model = new AutoMLP({ h: 12, numSamples: 2, maxSteps: 5, learningRate: 0.01, search: 'tpe' });
  const nf = new NeuralForecaster({ models: [model, new MLP({ h: 12, inputSize: 24, maxSteps: 5 })] });
  const events = [];
  await nf.fit(airPassengers(), { valSize: 24, onTrial: (e) => events.push(e) });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(nf.modelNames, ['AutoMLP', 'MLP']);
  const { trials, algorithm, val_size: scoredOn } = nf.searches.AutoMLP;
  assert.equal(scoredOn, 24, "trials are scored on the fit's valSize");
  assert.deepEqual(events.map((e) => [e.model, e.finished, e.total]), [['AutoMLP', 1, 2], ['AutoMLP', 2, 2]]);
  assert.deepEqual(events.map((e) => [e.number, e.loss, e.steps]).sort(), trials.map((t) => [t.number, t.loss, t.steps]));
  await assert.rejects(nf.fit(airPassengers(), { onTrial: 'log' }), (e) => e.code === codes.INVALID_CONFIG && /onTrial must be a function/.test(e.message));
  assert.equal(algorithm, 'tpe');
  for (const t of trials) {
    assert.ok(!('max_steps' in t.config) && !('learning_rate' in t.config), JSON.stringify(t.config));
    assert.ok('hidden_size' in t.config && 'input_size_multiplier' in t.config, JSON.stringify(t.config));
    assert.equal(t.steps, 5);
  }
  // A cross-validation searches on the data before its test windows, then forecasts them.
  const cv = await new NeuralForecaster({ models: [new AutoMLP({ h: 12, numSamples: 2, maxSteps: 5 })] })
    .crossValidation({ data: airPassengers(), nWindows: 2 });
  assert.equal(cv.length, 24);
  assert.ok(cv.every((r) => Number.isFinite(r.AutoMLP)));
});

test('an ensemble column is the mean or median of its members, saved with them', async () => {
  const members = () => [1, 2, 3].map((seed) => new MLP({ h: 12, inputSize: 24, maxSteps: 10, randomSeed: seed, alias: `MLP${seed}` }));
  const kept = new NeuralForecaster({ models: members(), ensemble: { combination: 'median', keepMembers: true } });
  await kept.fit(airPassengers());
  const rows = await kept.predict();
  for (const r of rows) {
    const sorted = [r.MLP1, r.MLP2, r.MLP3].sort((a, b) => a - b);
    assert.equal(r.Ensemble, sorted[1]);
  }
  const mean = new NeuralForecaster({ models: members(), ensemble: 'mean' });
  await mean.fit(airPassengers());
  const meanRows = await mean.predict();
  assert.deepEqual(Object.keys(meanRows[0]), ['unique_id', 'ds', 'Ensemble']);
  rows.forEach((r, i) => assert.ok(Math.abs(meanRows[i].Ensemble - (r.MLP1 + r.MLP2 + r.MLP3) / 3) < 1e-9));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nd-ensemble-'));
  try {
    await mean.saveCheckpoint(path.join(dir, 'ens.ndm'));
    const loaded = await NeuralForecaster.loadCheckpoint(path.join(dir, 'ens.ndm'));
    assert.deepEqual(await loaded.predict(), meanRows);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const refused = (options, pattern) => assert.throws(() => new NeuralForecaster({ models: members(), ...options }),
    (e) => e.code === codes.INVALID_CONFIG && pattern.test(e.message), JSON.stringify(options));
  refused({ ensemble: 'mode' }, /mode/);
  refused({ ensemble: 3 }, /ensemble must be 'mean', 'median' or/);
  refused({ ensemble: { combination: 'mean', keep_members: true } }, /ensemble must be 'mean', 'median' or/);
  refused({ ensemble: { combination: 'mean', keepMembers: 'yes' } }, /ensemble must be 'mean', 'median' or/);
  assert.throws(() => new NeuralForecaster({ models: members().slice(0, 1), ensemble: 'mean' }),
    (e) => e.code === codes.INVALID_CONFIG && /at least two/.test(e.message));
});
