import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoNHITS, AutoModel, NeuralForecaster, NHITS, codes } from '../lib/index.mjs';

test('the ESM entry exposes the same API', async () => {
  assert.equal(typeof NeuralForecaster, 'function');
  assert.equal(typeof NHITS, 'function');
  assert.ok(new AutoNHITS({ h: 12 }) instanceof AutoModel);
  assert.equal(codes.BUSY, 'ND_BUSY');
});
