'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const nd = require('../lib/index.js');
const { airPassengers, cliBinary } = require('../test-support/helpers.js');

const { NeuralForecaster, ModelStore, NHITS, codes } = nd;

/** A SQLite store in a fresh folder, and the PostgreSQL test cluster when it is up. */
function storeUrls() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nd-store-'));
  const urls = [`sqlite:${path.join(dir, 'models.db')}`];
  if (process.env.ND_TEST_POSTGRES_URL) urls.push(process.env.ND_TEST_POSTGRES_URL);
  else if (process.env.ND_REQUIRE_POSTGRES === '1') throw new Error('ND_REQUIRE_POSTGRES=1 but ND_TEST_POSTGRES_URL is not set');
  else console.log('SKIPPED the PostgreSQL store: ND_TEST_POSTGRES_URL is not set');
  return urls;
}

test('publish, list and load from an alias give the same forecasts', async () => {
  const nf = new NeuralForecaster({ models: [new NHITS({ h: 12, inputSize: 24, maxSteps: 10, mlpUnits: [[16, 16]] })], freq: 'M' });
  await nf.fit(airPassengers());
  const expected = await nf.predict();
  const name = `air_node_${process.pid}`;
  for (const url of storeUrls()) {
    const store = await ModelStore.open(url);
    const published = await store.publish(nf, name, { alias: 'production', tags: { owner: 'node' }, scores: { 'holdout/mae': 3.5 } });
    assert.equal(published.version, 1);
    assert.deepEqual(published.aliases, ['production']);
    assert.deepEqual(published.models, ['NHITS']);
    assert.equal(published.data.rows, 144);
    assert.equal(published.scores['holdout/mae'], 3.5);
    assert.ok(published.scores['NHITS/train_loss'] > 0);
    await store.publish(nf, name);
    const versions = await store.list(name);
    assert.deepEqual(versions.map((v) => v.version), [1, 2]);
    assert.deepEqual(versions[0].tags, { owner: 'node' });

    const loaded = await NeuralForecaster.loadFromStore(store, `${name}@production`);
    assert.equal(loaded.storeVersion.version, 1);
    assert.deepEqual(loaded.modelNames, ['NHITS']);
    assert.deepEqual(await loaded.predict(), expected);
    assert.equal(await store.setAlias(name, 'production', 2), 1);
    assert.equal((await store.show(`${name}@production`)).version, 2);

    // The CLI reads the same store.
    const listed = JSON.parse(execFileSync(cliBinary(), ['models', 'list', name, '--json', '--store', url], { encoding: 'utf8' }));
    assert.deepEqual(listed.map((v) => v.aliases), [[], ['production']]);
    await store.close();
  }
});

test('store failures reject with typed errors', async () => {
  await assert.rejects(ModelStore.open('mysql://u@h/db'), (e) => e.code === codes.STORE && /invalid store address/.test(e.message));
  const [url] = storeUrls();
  const store = await ModelStore.open(url);
  await assert.rejects(NeuralForecaster.loadFromStore(store, 'sales@production'), (e) => e.code === codes.NOT_FOUND && /has no model named 'sales'/.test(e.message));
  await assert.rejects(store.show('bad name'), (e) => e.code === 'ND_STORE' && /invalid model name 'bad name'/.test(e.message));
  const unfitted = new NeuralForecaster({ models: [new NHITS({ h: 12, inputSize: 24 })] });
  await assert.rejects(store.publish(unfitted, 'air'), (e) => e.code === codes.NOT_FITTED);
  await assert.rejects(store.publish({}, 'air'), (e) => e.code === codes.STORE);
  await store.close();
  await assert.rejects(store.list(), (e) => e.code === 'ND_STORE' && /not open/.test(e.message));
});
