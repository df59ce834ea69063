'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const nd = require('../lib/index.js');
const { airPassengers, cliBinary, parseForecastCsv, quickstartCliForecast, root } = require('../test-support/helpers.js');

const { NeuralForecaster, NHITS, NBEATS, MLP, RNN, LSTM, GRU, TCN, BiTCN, DilatedRNN, DeepAR, DLinear, NLinear, PatchTST, TiDE, VanillaTransformer, Informer, Autoformer, FEDformer, TimesNet, iTransformer, TSMixer, TSMixerx, TFT, ChronosBolt, Chronos2, metrics, codes } = nd;
const small = { h: 12, inputSize: 24, maxSteps: 30, mlpUnits: [[32, 32]] };

test('the registry generates one class per Rust model', () => {
  for (const Model of [NHITS, NBEATS, MLP]) assert.equal(typeof Model, 'function');
  const m = new NHITS({ h: 6, inputSize: 12, nPoolKernelSize: [4, 2, 1], scalerType: 'robust' });
  assert.deepEqual(m.params, { n_pool_kernel_size: [4, 2, 1], scaler_type: 'robust' });
  assert.throws(() => new MLP({ h: 6, inputSize: 12, nBlocks: [1] }), (e) => e.code === codes.INVALID_CONFIG && /MLP has no option 'nBlocks'/.test(e.message));
  assert.throws(() => new NHITS({ h: 0, inputSize: 12 }), { code: 'ND_INVALID_CONFIG' });
});

test('the device is checked when a forecaster is made, and cpu is the default', async () => {
  const models = [new NHITS(small)];
  assert.throws(() => new NeuralForecaster({ models, device: 'tpu' }), (e) => e.code === codes.INVALID_CONFIG && /unknown device 'tpu': use cpu, cuda or cuda:N/.test(e.message));
  assert.throws(() => new NeuralForecaster({ models, device: 0 }), (e) => e.code === codes.INVALID_CONFIG && /device must be a string/.test(e.message));
  // This addon is built without the cuda feature (the tests run on the CPU build).
  assert.throws(() => new NeuralForecaster({ models, device: 'cuda:1' }), (e) => e.code === codes.INVALID_CONFIG && /device cuda:1: this build has no CUDA support/.test(e.message));
  await assert.rejects(NeuralForecaster.loadCheckpoint('/nonexistent', { device: 'cuda' }), (e) => e.code === codes.INVALID_CONFIG && /no CUDA support/.test(e.message));
  const nf = new NeuralForecaster({ models, device: 'cpu', freq: 'M' });
  await nf.fit(airPassengers());
  assert.equal((await nf.predict()).length, 12);
});

test('recurrent models train with their own options and NeuralForecast defaults', async () => {
  for (const Model of [RNN, LSTM, GRU]) assert.equal(typeof Model, 'function');
  const gru = new GRU({ h: 12, inputSize: 24, maxSteps: 20, encoderHiddenSize: 16, decoderHiddenSize: 16 });
  assert.deepEqual(gru.params, { max_steps: 20, encoder_hidden_size: 16, decoder_hidden_size: 16 });
  assert.throws(() => new LSTM({ h: 12, inputSize: 24, encoderActivation: 'relu' }), (e) => e.code === codes.INVALID_CONFIG && /LSTM has no option 'encoderActivation'/.test(e.message));
  const rnn = new RNN({ h: 12, inputSize: 24, maxSteps: 20, encoderHiddenSize: 16, encoderActivation: 'relu' });
  // One step at a time, over NeuralForecast's default window of 3 x h.
  const stepwise = new LSTM({ h: 12, inputSize: -1, maxSteps: 20, encoderHiddenSize: 16, recurrent: true, hTrain: 2, alias: 'LSTMr' });
  assert.deepEqual(stepwise.params, { max_steps: 20, encoder_hidden_size: 16, recurrent: true, h_train: 2, alias: 'LSTMr' });
  assert.throws(() => new LSTM({ h: 12, inputSize: -2 }), (e) => e.code === codes.INVALID_CONFIG && /inputSize must be a positive integer, or -1/.test(e.message));
  const nf = new NeuralForecaster({ models: [gru, rnn, stepwise], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  // The robust scaler (their default) maps forecasts back to the series' level.
  for (const r of rows) assert.ok([r.GRU, r.RNN, r.LSTMr].every((v) => v > 200 && v < 1000), JSON.stringify(r));
});

test('optimizers and learning-rate schedules take NeuralForecast\'s option names', async () => {
  const mlp = { h: 12, inputSize: 24, maxSteps: 30, hiddenSize: 32 };
  const tuned = new MLP({ ...mlp, optimizer: 'adamw', optimizerKwargs: { weight_decay: 0.05, betas: [0.9, 0.99] }, lrScheduler: 'cosine', alias: 'tuned' });
  assert.deepEqual(tuned.params, { max_steps: 30, hidden_size: 32, optimizer: 'adamw', optimizer_kwargs: { weight_decay: 0.05, betas: [0.9, 0.99] }, lr_scheduler: 'cosine', alias: 'tuned' });
  const nf = new NeuralForecaster({ models: [tuned, new MLP(mlp)], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.ok(rows.some((r) => r.tuned !== r.MLP), 'the optimizer changed nothing');
  const refused = [
    [{ optimizer: 'lion' }, /available optimizers are adam, adamw, sgd, rmsprop/],
    [{ optimizer: 'sgd', optimizerKwargs: { betas: [0.9, 0.99] } }, /optimizer_kwargs for sgd: unknown field `betas`/],
    [{ lrSchedulerKwargs: { T_max: 10 } }, /lr_scheduler_kwargs are set but lr_scheduler is not/],
  ];
  for (const [options, message] of refused) {
    assert.throws(() => new NeuralForecaster({ models: [new MLP({ ...mlp, ...options })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && message.test(e.message), JSON.stringify(options));
  }
});

test('convolutional and dilated recurrent models train with their own options and NeuralForecast defaults', async () => {
  const tcn = new TCN({ h: 12, inputSize: 24, maxSteps: 20, dilations: [1, 2, 4], encoderHiddenSize: 16 });
  assert.deepEqual(tcn.params, { max_steps: 20, dilations: [1, 2, 4], encoder_hidden_size: 16 });
  // Values are checked when a forecaster is made from the models.
  assert.throws(() => new NeuralForecaster({ models: [new TCN({ h: 12, inputSize: 24, dilations: [] })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /dilations/.test(e.message));
  const bitcn = new BiTCN({ h: 12, inputSize: 24, maxSteps: 20, hiddenSize: 8, dropout: 0.1 });
  const drnn = new DilatedRNN({ h: 12, inputSize: 24, maxSteps: 20, cellType: 'GRU', dilations: [[1, 2], [4]], encoderHiddenSize: 16 });
  assert.throws(() => new NeuralForecaster({ models: [new DilatedRNN({ h: 12, inputSize: 24, cellType: 'Transformer' })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /Transformer/.test(e.message) && /AttentiveLSTM/.test(e.message));
  const nf = new NeuralForecaster({ models: [tcn, bitcn, drnn], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.deepEqual(nf.modelNames, ['TCN', 'BiTCN', 'DilatedRNN']);
  assert.equal(rows.length, 12);
  for (const r of rows) assert.ok(Number.isFinite(r.BiTCN), JSON.stringify(r));
  // The robust scaler (TCN's and DilatedRNN's default) maps forecasts back to the series' level.
  for (const r of rows) assert.ok(r.TCN > 200 && r.TCN < 1000 && r.DilatedRNN > 200 && r.DilatedRNN < 1000, JSON.stringify(r));
});

test('linear models train with their own options and NeuralForecast defaults', async () => {
  const dlinear = new DLinear({ h: 12, inputSize: 24, maxSteps: 50, movingAvgWindow: 13 });
  assert.deepEqual(dlinear.params, { max_steps: 50, moving_avg_window: 13 });
  assert.throws(() => new NeuralForecaster({ models: [new DLinear({ h: 12, inputSize: 24, movingAvgWindow: 12 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /moving_avg_window must be odd, got 12/.test(e.message));
  const nf = new NeuralForecaster({ models: [dlinear, new NLinear({ h: 12, inputSize: 24, maxSteps: 50 })], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.deepEqual(nf.modelNames, ['DLinear', 'NLinear']);
  assert.equal(rows.length, 12);
  // NLinear adds the window's last value back, so its forecasts start near the last observation (432).
  for (const r of rows) assert.ok(Number.isFinite(r.DLinear) && r.NLinear > 300 && r.NLinear < 600, JSON.stringify(r));
});

test('PatchTST trains with its options and maps forecasts back through RevIN', async () => {
  const patchtst = new PatchTST({ h: 12, inputSize: 24, maxSteps: 5, hiddenSize: 16, nHeads: 4, linearHiddenSize: 32, activation: 'relu' });
  assert.deepEqual(patchtst.params, { max_steps: 5, hidden_size: 16, n_heads: 4, linear_hidden_size: 32, activation: 'relu' });
  assert.throws(() => new NeuralForecaster({ models: [new PatchTST({ h: 12, inputSize: 24, hiddenSize: 16, nHeads: 5 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /hidden_size \(16\) must be a multiple of n_heads \(5\)/.test(e.message));
  const nf = new NeuralForecaster({ models: [patchtst], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  // RevIN puts the forecasts back at the series' level (the last year ranges 390-622).
  for (const r of rows) assert.ok(r.PatchTST > 250 && r.PatchTST < 800, JSON.stringify(r));
});

/** Two daily series, y = level + 10 * promo with promo known ahead: 60 days of data, the promo
 * values of the 4 days after them and the static levels. */
const promoPanel = () => {
  const promo = (t) => ((t * 37 + 11) % 7 < 3 ? 1 : 0);
  const day = (t) => new Date(Date.UTC(2024, 0, 1 + t));
  const data = [];
  const futrData = [];
  for (const [id, level] of [['a', 20], ['b', 50]]) {
    for (let t = 0; t < 60; t++) data.push({ unique_id: id, ds: day(t), y: level + 10 * promo(t), promo: promo(t) });
    for (let t = 60; t < 64; t++) futrData.push({ unique_id: id, ds: day(t), promo: promo(t) });
  }
  return { data, futrData, staticData: [{ unique_id: 'a', level: 20 }, { unique_id: 'b', level: 50 }] };
};

test('TiDE reads future and static columns and checks its options', async () => {
  const { data, futrData, staticData } = promoPanel();
  const tide = new TiDE({ h: 4, inputSize: 8, maxSteps: 20, hiddenSize: 16, temporalDecoderDim: 8, layernorm: false, futrExogList: ['promo'], statExogList: ['level'] });
  assert.deepEqual(tide.params, { max_steps: 20, hidden_size: 16, temporal_decoder_dim: 8, layernorm: false, futr_exog_list: ['promo'], stat_exog_list: ['level'] });
  assert.throws(() => new NeuralForecaster({ models: [new TiDE({ h: 4, inputSize: 8, dropout: 1.5 })] }), (e) => e.code === codes.INVALID_CONFIG && /TiDE: dropout must be in \[0, 1\), got 1.5/.test(e.message));
  assert.throws(() => new NeuralForecaster({ models: [new TiDE({ h: 4, inputSize: 8, temporalWidth: 0 })] }), (e) => e.code === codes.INVALID_CONFIG && /TiDE: temporal_width must be at least 1/.test(e.message));
  const nf = new NeuralForecaster({ models: [tide] });
  await nf.fit(data, { staticData });
  await assert.rejects(nf.predict(), (e) => e.code === codes.INVALID_DATA && /future exogenous column 'promo'/.test(e.message));
  const rows = await nf.predict({ futrData });
  assert.equal(rows.length, 8);
  assert.ok(rows.every((r) => Number.isFinite(r.TiDE)), JSON.stringify(rows));
});

test('TFT explains its forecasts: named variables, rows summing to 1, causal attention', async () => {
  const { data, futrData, staticData } = promoPanel();
  assert.throws(() => new NeuralForecaster({ models: [new TFT({ h: 4, inputSize: 8, hiddenSize: 10, nHead: 4 })] }), (e) => e.code === codes.INVALID_CONFIG && /TFT: hidden_size 10 must be a multiple of n_head 4/.test(e.message));
  const tft = new TFT({ h: 4, inputSize: 8, maxSteps: 5, hiddenSize: 8, nHead: 2, rnnType: 'gru', futrExogList: ['promo'], statExogList: ['level'] });
  const nf = new NeuralForecaster({ models: [tft, new MLP({ h: 4, inputSize: 8, maxSteps: 2, hiddenSize: 8 })] });
  await nf.fit(data, { staticData });
  const rows = await nf.predict({ futrData });
  assert.ok(rows.every((r) => Number.isFinite(r.TFT)), JSON.stringify(rows));
  const explained = await nf.explain({ futrData });
  assert.equal(explained.length, 1);
  const [e] = explained;
  assert.equal(e.model, 'TFT');
  assert.deepEqual(e.past_variables, ['promo', 'observed_target']);
  assert.deepEqual(e.future_variables, ['promo']);
  assert.deepEqual(e.static_variables, ['level']);
  assert.deepEqual(e.series.map((s) => s.unique_id), ['a', 'b']);
  const sumsToOne = (row) => Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5;
  for (const s of e.series) {
    assert.equal(s.past_importance.length, 8);
    assert.equal(s.future_importance.length, 4);
    assert.equal(s.static_importance.length, 1);
    assert.equal(s.attention.length, 12);
    assert.ok([...s.past_importance, ...s.future_importance, s.static_importance, ...s.attention].every(sumsToOne), JSON.stringify(s));
    assert.ok(s.attention.every((row, q) => row.slice(q + 1).every((w) => w === 0)));
  }
  await assert.rejects(nf.explain(), (e) => e.code === codes.INVALID_DATA && /future exogenous column 'promo'/.test(e.message));
  const mlpOnly = new NeuralForecaster({ models: [new MLP({ h: 4, inputSize: 8, maxSteps: 2 })] });
  await mlpOnly.fit(data);
  await assert.rejects(mlpOnly.explain(), (e) => e.code === codes.INVALID_CONFIG && /none of the models \(MLP\) explains its forecasts; models that do: TFT/.test(e.message));
});

test('VanillaTransformer reads future columns only and checks its decoder window', async () => {
  assert.throws(() => new VanillaTransformer({ h: 12, inputSize: 24, histExogList: ['x'] }), (e) => e.code === codes.INVALID_CONFIG && /VanillaTransformer has no option 'histExogList'/.test(e.message));
  assert.throws(() => new NeuralForecaster({ models: [new VanillaTransformer({ h: 12, inputSize: 24, decoderInputSizeMultiplier: 1 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /decoder_input_size_multiplier must be in \(0, 1\)/.test(e.message));
  const transformer = new VanillaTransformer({ h: 12, inputSize: 24, maxSteps: 5, hiddenSize: 16, nHead: 2, convHiddenSize: 8 });
  assert.deepEqual(transformer.params, { max_steps: 5, hidden_size: 16, n_head: 2, conv_hidden_size: 8 });
  const nf = new NeuralForecaster({ models: [transformer], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.ok(rows.every((r) => Number.isFinite(r.VanillaTransformer)), JSON.stringify(rows));
});

test('Informer distils its encoder and forecasts the same on every call', async () => {
  assert.throws(() => new NeuralForecaster({ models: [new Informer({ h: 12, inputSize: 24, factor: 0 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /Informer: factor must be at least 1/.test(e.message));
  const informer = new Informer({ h: 12, inputSize: 24, maxSteps: 5, hiddenSize: 16, nHead: 2, convHiddenSize: 8 });
  assert.deepEqual(informer.params, { max_steps: 5, hidden_size: 16, n_head: 2, conv_hidden_size: 8 });
  const nf = new NeuralForecaster({ models: [informer], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.ok(rows.every((r) => Number.isFinite(r.Informer)), JSON.stringify(rows));
  assert.deepEqual(await nf.predict(), rows);
});

test('Autoformer decomposes its window and refuses an even moving average', async () => {
  assert.throws(() => new NeuralForecaster({ models: [new Autoformer({ h: 12, inputSize: 24, MovingAvgWindow: 24 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /Autoformer: MovingAvg_window must be odd/.test(e.message));
  const autoformer = new Autoformer({ h: 12, inputSize: 24, maxSteps: 5, hiddenSize: 16, nHead: 2, convHiddenSize: 8, MovingAvgWindow: 7 });
  assert.deepEqual(autoformer.params, { max_steps: 5, hidden_size: 16, n_head: 2, conv_hidden_size: 8, MovingAvg_window: 7 });
  const nf = new NeuralForecaster({ models: [autoformer], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.ok(rows.every((r) => Number.isFinite(r.Autoformer)), JSON.stringify(rows));
  assert.deepEqual(await nf.predict(), rows);
});

test('FEDformer keeps its frequency modes through a checkpoint and refuses other head counts', async () => {
  assert.throws(() => new NeuralForecaster({ models: [new FEDformer({ h: 12, inputSize: 24, nHead: 4 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /FEDformer: n_head must be 8/.test(e.message));
  assert.throws(() => new NeuralForecaster({ models: [new FEDformer({ h: 12, inputSize: 24, modeSelect: 'highest' })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /highest/.test(e.message));
  const fedformer = new FEDformer({ h: 12, inputSize: 24, maxSteps: 5, hiddenSize: 16, convHiddenSize: 8, modes: 5, MovingAvgWindow: 7 });
  assert.deepEqual(fedformer.params, { max_steps: 5, hidden_size: 16, conv_hidden_size: 8, modes: 5, MovingAvg_window: 7 });
  const nf = new NeuralForecaster({ models: [fedformer], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.ok(rows.every((r) => Number.isFinite(r.FEDformer)), JSON.stringify(rows));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nd-fedformer-'));
  await nf.saveCheckpoint(path.join(dir, 'fedformer'));
  const loaded = await NeuralForecaster.loadCheckpoint(path.join(dir, 'fedformer'));
  assert.deepEqual(await loaded.predict(), rows);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('TimesNet folds its window by period and refuses more periods than frequencies', async () => {
  assert.throws(() => new NeuralForecaster({ models: [new TimesNet({ h: 12, inputSize: 24, topK: 19 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /TimesNet: top_k \(19\) must be at most/.test(e.message));
  const timesnet = new TimesNet({ h: 12, inputSize: 24, maxSteps: 5, hiddenSize: 8, convHiddenSize: 8, topK: 2, numKernels: 2 });
  assert.deepEqual(timesnet.params, { max_steps: 5, hidden_size: 8, conv_hidden_size: 8, top_k: 2, num_kernels: 2 });
  const nf = new NeuralForecaster({ models: [timesnet], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.ok(rows.every((r) => Number.isFinite(r.TimesNet)), JSON.stringify(rows));
  assert.deepEqual(await nf.predict(), rows);
});

test('multivariate models forecast their series together and reject a panel of another size', async () => {
  assert.throws(() => new NeuralForecaster({ models: [new iTransformer({ h: 12, inputSize: 24 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /set n_series to the number of series/.test(e.message));
  const options = { h: 12, inputSize: 24, nSeries: 2, maxSteps: 5, hiddenSize: 16, nHeads: 2, eLayers: 1, dFf: 32 };
  const model = new iTransformer(options);
  assert.deepEqual(model.params, { n_series: 2, max_steps: 5, hidden_size: 16, n_heads: 2, e_layers: 1, d_ff: 32 });
  const air = airPassengers();
  const panel = [...air, ...air.map((r) => ({ ...r, unique_id: 'Mirrored', y: 700 - r.y }))];
  const mixer = new TSMixer({ h: 12, inputSize: 24, nSeries: 2, maxSteps: 5, nBlock: 1, ffDim: 8, dropout: 0.1 });
  assert.deepEqual(mixer.params, { n_series: 2, max_steps: 5, n_block: 1, ff_dim: 8, dropout: 0.1 });
  const mixerx = new TSMixerx({ h: 12, inputSize: 24, nSeries: 2, maxSteps: 5, ffDim: 8 });
  const nf = new NeuralForecaster({ models: [model, mixer, mixerx], freq: 'M' });
  await nf.fit(panel);
  const rows = await nf.predict();
  assert.equal(rows.length, 24);
  assert.deepEqual([rows[0].unique_id, rows[12].unique_id], [air[0].unique_id, 'Mirrored']);
  assert.ok(rows.every((r) => [r.iTransformer, r.TSMixer, r.TSMixerx].every(Number.isFinite)), JSON.stringify(rows));
  await assert.rejects(nf.predict({ data: air }), (e) => e.code === codes.INVALID_DATA && /was fitted on n_series=2 series and forecasts them together, but the data has 1/.test(e.message));
});

test('DeepAR forecasts sample paths with its distribution columns', async () => {
  const deepar = new DeepAR({ h: 12, inputSize: 24, maxSteps: 20, lstmHiddenSize: 16, trajectorySamples: 50, scalerType: 'robust', loss: 'normal:80' });
  assert.deepEqual(deepar.params, { max_steps: 20, lstm_hidden_size: 16, trajectory_samples: 50, scaler_type: 'robust', loss: 'normal:80' });
  assert.throws(() => new NeuralForecaster({ models: [new DeepAR({ h: 12, inputSize: 24, hTrain: 0 })], freq: 'M' }), (e) => e.code === codes.INVALID_CONFIG && /h_train/.test(e.message));
  const nf = new NeuralForecaster({ models: [deepar], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.deepEqual(Object.keys(rows[0]).filter((k) => k.startsWith('DeepAR')), ['DeepAR', 'DeepAR-median', 'DeepAR-lo-80', 'DeepAR-hi-80']);
  for (const r of rows) assert.ok(r['DeepAR-lo-80'] <= r['DeepAR-median'] && r['DeepAR-median'] <= r['DeepAR-hi-80'], JSON.stringify(r));
  // Sampling is seeded: the same forecasts again.
  assert.deepEqual(await nf.predict(), rows);
});

test('fit and predict AirPassengers in records and columns', async () => {
  const nf = new NeuralForecaster({ models: [new NHITS(small), new MLP({ h: 12, inputSize: 24, maxSteps: 30, hiddenSize: 32 })], freq: 'M' });
  await nf.fit(airPassengers());
  assert.deepEqual(nf.modelNames, ['NHITS', 'MLP']);
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  assert.equal(rows[0].unique_id, 'AirPassengers');
  assert.equal(rows[0].ds, '1961-01-01');
  assert.equal(rows[11].ds, '1961-12-01');
  for (const r of rows) assert.ok(r.NHITS > 200 && r.NHITS < 1000 && Number.isFinite(r.MLP), JSON.stringify(r));
  const cols = await nf.predict({ format: 'columns' });
  assert.ok(cols.NHITS instanceof Float64Array);
  assert.deepEqual(Array.from(cols.NHITS), rows.map((r) => r.NHITS));
});

test('a quantile loss gives median and interval columns', async () => {
  const nf = new NeuralForecaster({ models: [new NHITS({ ...small, loss: 'mqloss:80' })] });
  await nf.fit(airPassengers());
  assert.deepEqual(nf.modelNames, ['NHITS']);
  const [row] = await nf.predict();
  assert.deepEqual(Object.keys(row), ['unique_id', 'ds', 'NHITS-median', 'NHITS-lo-80', 'NHITS-hi-80']);
  assert.ok(row['NHITS-lo-80'] <= row['NHITS-median'] && row['NHITS-median'] <= row['NHITS-hi-80']);
});

test('conformal prediction intervals via predictionIntervals and level', async () => {
  const nf = new NeuralForecaster({ models: [new NHITS(small)] });
  await assert.rejects(
    (async () => { await nf.fit(airPassengers()); return nf.predict({ level: [80] }); })(),
    (e) => e.code === 'ND_INVALID_CONFIG' && /need calibration/.test(e.message),
  );
  await nf.fit(airPassengers(), { predictionIntervals: {} });
  const warnings = [];
  const listen = (w) => warnings.push(w);
  process.on('warning', listen);
  try {
    const [single] = await nf.predict({ level: 80 });
    assert.ok('NHITS-hi-80' in single);
    await nf.predict({ level: 99 });
    await nf.predict({ level: 99.9 });
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', listen);
  }
  // The default calibration (25 windows on this one series, 300 scores once its 12 steps are
  // pooled) supports 80% and 99% but not 99.9%.
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].name, 'NeuroDivergentWarning');
  assert.match(warnings[0].message, /NHITS: 99.9% intervals need at least 999 calibration scores/);
  await assert.rejects(
    nf.fit(airPassengers(), { predictionIntervals: { method: 'pooled' } }),
    (e) => e.code === 'ND_INVALID_CONFIG' && /unknown conformal method 'pooled'/.test(e.message),
  );
  await nf.fit(airPassengers(), { predictionIntervals: { method: 'conformal_distribution', nWindows: 10 } });
  await assert.rejects(nf.predict({ level: '80' }), { code: 'ND_INVALID_CONFIG' });
  const [row] = await nf.predict({ level: [80, 95] });
  assert.deepEqual(Object.keys(row), ['unique_id', 'ds', 'NHITS', 'NHITS-lo-95', 'NHITS-lo-80', 'NHITS-hi-80', 'NHITS-hi-95']);
  assert.ok(row['NHITS-lo-95'] <= row['NHITS-lo-80'] && row['NHITS-lo-80'] <= row.NHITS && row.NHITS <= row['NHITS-hi-80']);
});

test('columnar typed arrays, Date ds and integer ds are accepted', async () => {
  const records = airPassengers();
  const columns = {
    unique_id: records.map((r) => r.unique_id),
    ds: records.map((r) => new Date(`${r.ds}T00:00:00Z`)),
    y: Float64Array.from(records, (r) => r.y),
  };
  const nf = new NeuralForecaster({ models: [new NHITS(small)] });
  await nf.fit(columns);
  const rows = await nf.predict();
  assert.equal(rows[0].ds, '1961-01-01');
  const ints = { unique_id: columns.unique_id, ds: records.map((_, i) => i + 1), y: columns.y };
  await nf.fit(ints);
  const next = await nf.predict();
  assert.equal(next[0].ds, 145);
});

test('progress events carry step, loss and validation loss', async () => {
  const events = [];
  const nf = new NeuralForecaster({ models: [new NHITS({ ...small, maxSteps: 40, valCheckSteps: 10 })] });
  await nf.fit(airPassengers(), { valSize: 12, onProgress: (e) => events.push(e) });
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(events.length > 0);
  const last = events[events.length - 1];
  assert.equal(last.step, 40);
  assert.equal(last.maxSteps, 40);
  assert.ok(Number.isFinite(last.loss));
  assert.ok(Number.isFinite(last.valLoss));
});

test('cross-validation returns cutoffs and actuals', async () => {
  const nf = new NeuralForecaster({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: 20, hiddenSize: 32 })] });
  await nf.fit(airPassengers());
  const byHorizon = await nf.crossValidation({ nWindows: 2 });
  assert.equal(byHorizon[0].cutoff, '1958-12-01');
  const cv = await nf.crossValidation({ nWindows: 2, stepSize: 6 });
  assert.equal(cv.length, 24);
  assert.deepEqual(Object.keys(cv[0]), ['unique_id', 'ds', 'cutoff', 'y', 'MLP']);
  assert.equal(cv[0].cutoff, '1959-06-01');
  assert.equal(cv[12].y, 417);
  const withIntervals = await nf.crossValidation({ nWindows: 2, predictionIntervals: {}, level: [80] });
  assert.deepEqual(Object.keys(withIntervals[0]), ['unique_id', 'ds', 'cutoff', 'y', 'MLP', 'MLP-lo-80', 'MLP-hi-80']);
  assert.ok(withIntervals.every((r) => r['MLP-lo-80'] < r.MLP && r.MLP < r['MLP-hi-80']));
  await assert.rejects(
    nf.crossValidation({ nWindows: 2, level: [80] }),
    (e) => e.code === 'ND_INVALID_CONFIG' && /need prediction_intervals/.test(e.message),
  );
});

test('the event loop stays responsive during a 500-step NHITS fit', async () => {
  const nf = new NeuralForecaster({ models: [new NHITS({ ...small, maxSteps: 500, mlpUnits: [[64, 64]] })] });
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  let worst = 0;
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  histogram.enable();
  await nf.fit(airPassengers());
  histogram.disable();
  clearInterval(probe);
  const maxMs = histogram.max / 1e6;
  console.log(`worst event-loop delay during fit: probe ${worst.toFixed(1)} ms, histogram max ${maxMs.toFixed(1)} ms`);
  assert.ok(worst < 50, `setInterval probe saw a ${worst} ms stall`);
});

test('two forecasters fit at the same time', async () => {
  const a = new NeuralForecaster({ models: [new NHITS(small)] });
  const b = new NeuralForecaster({ models: [new NBEATS(small)] });
  await Promise.all([a.fit(airPassengers()), b.fit(airPassengers())]);
  const [pa, pb] = await Promise.all([a.predict(), b.predict()]);
  assert.equal(pa.length, 12);
  assert.equal(pb.length, 12);
});

test('error codes: invalid data, not fitted, busy, invalid config, train', async () => {
  const nf = new NeuralForecaster({ models: [new NHITS(small)] });
  await assert.rejects(nf.predict(), { code: 'ND_NOT_FITTED' });
  const bad = airPassengers();
  bad[5].y = Number.NaN;
  await assert.rejects(nf.fit(bad), (e) => e.code === 'ND_INVALID_DATA' && /series 'AirPassengers'/.test(e.message) && /NaN/.test(e.message));
  await assert.rejects(nf.fit([{ unique_id: 'a', ds: 1 }]), { code: 'ND_INVALID_DATA', message: "data: row 1 has no 'y'" });
  const dup = airPassengers();
  dup[3].ds = dup[2].ds;
  await assert.rejects(nf.fit(dup), (e) => e.code === 'ND_INVALID_DATA' && /two rows with ds 1949-03-01/.test(e.message));
  await assert.rejects(nf.fit({ unique_id: ['a'], ds: [1, 2], y: [1] }), { code: 'ND_INVALID_DATA' });
  const first = nf.fit(airPassengers());
  await assert.rejects(nf.fit(airPassengers()), (e) => e.code === 'ND_BUSY' && e instanceof nd.NeuroDivergentError);
  await first;
  assert.throws(() => new NeuralForecaster({ models: [new NHITS(small)], freq: 'fortnight' }), { code: 'ND_INVALID_CONFIG' });
  assert.throws(() => new NeuralForecaster({ models: [new NHITS({ ...small, mlpUnits: 'wide' })] }), { code: 'ND_INVALID_CONFIG' });
  const diverging = new NeuralForecaster({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: 50, learningRate: 1e30, loss: 'mse' })] });
  await assert.rejects(diverging.fit(airPassengers()), { code: 'ND_TRAIN' });
});

test('an AbortSignal cancels a running fit', async () => {
  const nf = new NeuralForecaster({ models: [new NHITS({ ...small, maxSteps: 100000 })] });
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 200);
  await assert.rejects(nf.fit(airPassengers(), { signal: controller.signal }), (e) => e.code === 'ND_ABORTED' && e.name === 'AbortError');
  assert.ok(Date.now() - started < 20000);
  await assert.rejects(nf.fit(airPassengers(), { signal: AbortSignal.abort() }), { code: 'ND_ABORTED' });
  await assert.rejects(nf.predict(), { code: 'ND_NOT_FITTED' });
});

test('checkpoints: Node to CLI and CLI to Node give identical forecasts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nd-node-'));
  const nf = new NeuralForecaster({ models: [new NHITS(small)] });
  await nf.fit(airPassengers());
  await nf.saveCheckpoint(path.join(dir, 'air.ndm'));
  const fromNode = await nf.predict();
  const cli = execFileSync(cliBinary(), ['predict', '--model-dir', path.join(dir, 'air.ndm')], { encoding: 'utf8' });
  const cliRows = cli.trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
  assert.deepEqual(cliRows, fromNode.map((r) => r.NHITS));

  const cliDir = path.join(dir, 'cli-model');
  execFileSync(cliBinary(), ['fit', '--data', path.join(root, 'examples', 'air_passengers.csv'), '--horizon', '12',
    '--input-size', '24', '--max-steps', '20', '--param', 'mlp_units=[[32,32]]', '--threads', '1', '--save', cliDir], { stdio: 'ignore' });
  const loaded = await NeuralForecaster.loadCheckpoint(cliDir);
  assert.deepEqual(loaded.modelNames, ['NHITS']);
  const refit = await NeuralForecaster.loadCheckpoint(cliDir);
  assert.equal((await refit.crossValidation({ data: airPassengers(), nWindows: 1 })).length, 12);
  const cliForecast = execFileSync(cliBinary(), ['predict', '--model-dir', cliDir], { encoding: 'utf8' });
  const expected = cliForecast.trim().split('\n').slice(1).map((l) => Number(l.split(',')[2]));
  assert.deepEqual((await loaded.predict()).map((r) => r.NHITS), expected);

  fs.writeFileSync(path.join(dir, 'air.ndm', 'manifest.json'), '{"truncated');
  await assert.rejects(NeuralForecaster.loadCheckpoint(path.join(dir, 'air.ndm')), { code: 'ND_CHECKPOINT' });
  await assert.rejects(NeuralForecaster.loadCheckpoint(path.join(dir, 'missing')), { code: 'ND_CHECKPOINT' });
  const blocker = path.join(dir, 'plain-file');
  fs.writeFileSync(blocker, 'x');
  await assert.rejects(nf.saveCheckpoint(path.join(blocker, 'model')), { code: 'ND_IO' });
  const unfitted = new NeuralForecaster({ models: [new NHITS(small)] });
  await assert.rejects(unfitted.saveCheckpoint(path.join(dir, 'x')), { code: 'ND_NOT_FITTED' });
  fs.rmSync(dir, { recursive: true, force: true });
});

test('metrics helpers use the library definitions', () => {
  assert.equal(metrics.mae([1, 2], [2, 4]), 1.5);
  assert.equal(metrics.smape([1], [3]), 100);
  assert.equal(metrics.mase([1, 5], [2, 4], [1, 2, 4, 7], 1), 0.5);
  assert.throws(() => metrics.mase([1], [1]), { code: 'ND_INVALID_CONFIG' });
});

test('the TypeScript quickstart type-checks, runs and prints the CLI forecasts for the same config', () => {
  const quickstart = path.join(root, 'examples', 'node');
  const out = execFileSync('npm', ['start', '--silent'], { cwd: quickstart, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  assert.deepEqual(parseForecastCsv(out), quickstartCliForecast());
});

test('exogenous columns, static and future values and calendar features', async () => {
  // y = level + 10 * promo, with promo known ahead.
  const { data, futrData, staticData } = promoPanel();
  const model = new MLP({ h: 4, inputSize: 8, maxSteps: 40, hiddenSize: 16, futrExogList: ['promo'], statExogList: ['level'] });
  assert.deepEqual(model.params, { hidden_size: 16, max_steps: 40, futr_exog_list: ['promo'], stat_exog_list: ['level'] });
  const nf = new NeuralForecaster({ models: [model] });
  await nf.fit(data, { staticData });
  await assert.rejects(nf.predict(), (e) => e.code === codes.INVALID_DATA && /future exogenous column 'promo'/.test(e.message));
  await assert.rejects(
    nf.predict({ futrData: futrData.slice(0, 2) }),
    (e) => e.code === codes.INVALID_DATA && /futrData: series 'a' has no future value of 'promo' at ds 2024-03-03/.test(e.message),
  );
  const rows = await nf.predict({ futrData });
  assert.equal(rows.length, 8);
  assert.ok(rows.every((r) => Number.isFinite(r.MLP)));
  const cv = await nf.crossValidation({ nWindows: 2, stepSize: 4 });
  assert.equal(cv.length, 16);

  await assert.rejects(
    new NeuralForecaster({ models: [model] }).fit(data, { staticData: [staticData[0], { unique_id: 'B', level: 1 }] }),
    (e) => e.code === codes.INVALID_DATA && /staticData: no static values for series 'b'/.test(e.message),
  );
  // Numeric strings are numbers; other text is an error once a model reads the column.
  const text = data.map((r) => ({ ...r, promo: String(r.promo) }));
  await new NeuralForecaster({ models: [model] }).fit(text, { staticData });
  const broken = data.map((r, i) => (i === 5 ? { ...r, promo: 'n/a' } : r));
  await assert.rejects(
    new NeuralForecaster({ models: [model] }).fit(broken, { staticData }),
    (e) => e.code === codes.INVALID_DATA && /series 'a' at ds 2024-01-06: exogenous column 'promo' holds 'NaN'/.test(e.message),
  );

  const calendar = new NeuralForecaster({
    models: [new NHITS({ ...small, futrExogList: ['month'], histExogList: ['y_lag12'] })],
    features: { calendar: ['month'], derived: ['lag:12'] },
  });
  await calendar.fit(airPassengers());
  assert.equal((await calendar.predict()).length, 12);
  assert.throws(
    () => new NeuralForecaster({ models: [new NHITS(small)], features: { calendar: ['season'] } }),
    (e) => e.code === codes.INVALID_CONFIG && /unknown calendar feature 'season'/.test(e.message),
  );
});

test('saveCheckpoint through a link to a folder writes the folder and keeps the link', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nd-node-'));
  const real = path.join(dir, 'models-v1');
  fs.mkdirSync(real);
  const link = path.join(dir, 'current');
  fs.symlinkSync(real, link);
  const nf = new NeuralForecaster({ models: [new NHITS(small)] });
  await nf.fit(airPassengers());
  await nf.saveCheckpoint(link);
  await nf.saveCheckpoint(link);
  assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link was replaced');
  assert.equal(fs.readdirSync(real).length, 2);
  const loaded = await NeuralForecaster.loadCheckpoint(link);
  assert.deepEqual(await loaded.predict(), await nf.predict());
  fs.rmSync(dir, { recursive: true, force: true });
});

test('systemInfo names the CPU and the matrix kernels chosen for it', () => {
  const info = nd.systemInfo();
  assert.equal(typeof info.cpu, 'string');
  assert.equal(info.avx512Build, true, 'the addon is built with the AVX-512 kernels by default');
  const expected = info.simd.includes('avx512f') ? 'avx512'
    : info.simd.includes('fma') ? 'avx2-fma'
      : info.simd.includes('neon') ? 'neon' : 'scalar';
  assert.equal(info.kernelPath, expected);
});

test('ChronosBolt forecasts untrained from a Hugging Face directory, with its quantiles as interval columns', async () => {
  const dir = path.join(root, 'crates', 'neuro-divergent', 'tests', 'fixtures', 'chronos_bolt_small_random');
  assert.throws(() => new NeuralForecaster({ models: [new ChronosBolt({ h: 12, inputSize: 96, modelPath: '/nonexistent/model' })] }), (e) => e.code === codes.INVALID_CONFIG && /model_path '\/nonexistent\/model' is not a directory with config.json/.test(e.message));
  // The fixture's reference forecasts (chronos-forecasting) of its 150-point series.
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
  const y = expected.series[3];
  const data = y.map((v, t) => ({ unique_id: 'x', ds: `2020-01-01 ${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}:00`, y: v }));
  const nf = new NeuralForecaster({ models: [new ChronosBolt({ h: 12, inputSize: 96, modelPath: dir })] });
  await nf.fit(data);
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  const reference = expected.quantiles_h12[3];
  rows.forEach((row, t) => {
    const step = reference.map((q) => q[t]).sort((a, b) => a - b);
    const columns = ['lo-80', 'lo-60', 'lo-40', 'lo-20', 'median', 'hi-20', 'hi-40', 'hi-60', 'hi-80'];
    columns.forEach((c, i) => {
      const got = row[`ChronosBolt-${c}`];
      assert.ok(Math.abs(got - step[i]) <= 1e-4 * (1 + Math.abs(step[i])), `step ${t} ${c}: ${got} vs ${step[i]}`);
    });
  });
});

test('Chronos2 forecasts its 21 quantiles as a median and ten intervals', async () => {
  const dir = path.join(root, 'crates', 'neuro-divergent', 'tests', 'fixtures', 'chronos2_small_random');
  const model = new Chronos2({ h: 12, inputSize: 96, modelPath: dir, nSeries: 1 });
  assert.deepEqual(model.params, { model_path: dir, n_series: 1 });
  const nf = new NeuralForecaster({ models: [model], freq: 'M' });
  await nf.fit(airPassengers());
  const rows = await nf.predict();
  assert.equal(rows.length, 12);
  const levels = [10, 20, 30, 40, 50, 60, 70, 80, 90, 98];
  for (const row of rows) {
    const columns = levels.map((l) => row[`Chronos2-lo-${l}`]).reverse().concat([row['Chronos2-median']], levels.map((l) => row[`Chronos2-hi-${l}`]));
    assert.ok(columns.every(Number.isFinite), JSON.stringify(row));
    // Non-crossing: each step's quantiles ascend.
    assert.ok(columns.every((v, i) => i === 0 || v >= columns[i - 1]), JSON.stringify(columns));
  }
  assert.throws(() => new NeuralForecaster({ models: [new Chronos2({ h: 40, inputSize: 96, modelPath: dir })] }), (e) => e.code === codes.INVALID_CONFIG && /horizon 40 exceeds the 16 steps the model forecasts in one pass/.test(e.message));
});

test('Apache Arrow tables in and out: typed columns, the same forecasts as records', async () => {
  const arrow = require('apache-arrow');
  const records = airPassengers();
  const table = arrow.tableFromArrays({
    unique_id: records.map((r) => r.unique_id),
    ds: records.map((r) => new Date(`${r.ds}T00:00:00Z`)),
    y: BigInt64Array.from(records, (r) => BigInt(r.y)),
  });
  assert.equal(String(table.schema.fields[0].type), 'Dictionary<Int32, Utf8>');
  const fromRecords = new NeuralForecaster({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: 30, hiddenSize: 32 })] });
  await fromRecords.fit(records);
  const expected = await fromRecords.predict({ format: 'columns' });
  const nf = new NeuralForecaster({ models: [new MLP({ h: 12, inputSize: 24, maxSteps: 30, hiddenSize: 32 })] });
  await nf.fit(table);
  const out = await nf.predict({ format: 'arrow' });
  assert.ok(out instanceof arrow.Table);
  assert.deepEqual(out.schema.fields.map((f) => `${f.name}:${f.type}`), ['unique_id:Utf8', 'ds:Date32<DAY>', 'MLP:Float64']);
  assert.deepEqual(Array.from(out.getChild('MLP')), Array.from(expected.MLP));
  assert.equal(new Date(out.getChild('ds').get(0)).toISOString(), '1961-01-01T00:00:00.000Z');

  // Zoned hourly timestamps come back zoned, in UTC; integer ds as Int64.
  const hours = Array.from({ length: 60 }, (_, i) => i);
  const zoned = new arrow.Table({
    unique_id: arrow.vectorFromArray(hours.map(() => 's'), new arrow.Utf8()),
    ds: arrow.vectorFromArray(hours.map((i) => Date.UTC(2024, 0, 1, i)), new arrow.TimestampMillisecond('UTC')),
    y: arrow.makeVector(Float64Array.from(hours, (i) => 10 + (i % 24))),
  });
  const hourly = new NeuralForecaster({ models: [new MLP({ h: 3, inputSize: 12, maxSteps: 5, hiddenSize: 16 })] });
  await hourly.fit(zoned);
  const [row] = await hourly.predict();
  assert.equal(row.ds, '2024-01-03T12:00:00.000Z');
  const typed = await hourly.predict({ format: 'arrow' });
  assert.equal(String(typed.schema.fields[1].type), 'Timestamp<MILLISECOND, UTC>');
  assert.equal(typed.getChild('ds').get(0), Date.UTC(2024, 0, 3, 12));
  await hourly.fit({ unique_id: hours.map(() => 's'), ds: hours.map((i) => i + 1), y: Float64Array.from(hours) });
  const ints = await hourly.predict({ format: 'arrow' });
  assert.equal(String(ints.schema.fields[1].type), 'Int64');
  assert.deepEqual(Array.from(ints.getChild('ds')), [61n, 62n, 63n]);

  const holes = arrow.tableFromArrays({ unique_id: ['a', 'a'], ds: [1, 2], y: Float64Array.from([1, NaN]) });
  await assert.rejects(nf.fit(holes), (e) => e.code === codes.INVALID_DATA && /row 2: series 'a': column 'y' holds 'NaN'/.test(e.message));
  const huge = new arrow.Table({
    unique_id: arrow.vectorFromArray(['a', 'a'], new arrow.Utf8()),
    ds: arrow.vectorFromArray([1n, 2n ** 60n], new arrow.Int64()),
    y: arrow.makeVector(Float64Array.from([1, 2])),
  });
  await assert.rejects(nf.fit(huge), (e) => e.code === codes.INVALID_DATA && /row 2: ds 1152921504606846976 is beyond the integers/.test(e.message));
  const noY = arrow.tableFromArrays({ unique_id: ['a'], ds: [1] });
  await assert.rejects(nf.fit(noY), (e) => e.code === codes.INVALID_DATA && /the Arrow table has no column 'y'/.test(e.message));
  await assert.rejects(nf.predict({ format: 'xml' }), (e) => e.code === codes.INVALID_CONFIG && /'records', 'columns' or 'arrow'/.test(e.message));
});
