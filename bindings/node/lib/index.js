'use strict';
/**
 * neuro-divergent for Node.js: NeuralForecast-style neural forecasting (NHITS, NBEATS, MLP, ...)
 * running natively; fit, predict and cross-validation run on worker threads and return Promises.
 */
const native = require('./native.js');
const { codes, NeuroDivergentError, fromFailure, fromNative } = require('./errors.js');
const { toColumns, toKeyed, formatForecasts } = require('./data.js');
const models = require('./models.js');
const { AutoModel, BaseModel } = require('./base-model.js');
const { ModelStore, toVersionInfo } = require('./store.js');

/** Interval levels from a number or an array of numbers (`undefined`: none). */
function levelsOf(level) {
  if (level === undefined) return null;
  const list = Array.isArray(level) ? level : [level];
  if (!list.every((l) => typeof l === 'number' && Number.isFinite(l))) {
    throw new NeuroDivergentError(codes.INVALID_CONFIG, `level must be a number or an array of numbers, got ${JSON.stringify(level)}`);
  }
  return list;
}

/** Resolves a native outcome or throws its failure as a NeuroDivergentError. */
function unwrap(outcome) {
  if (outcome.failure) throw fromFailure(outcome.failure);
  return outcome;
}

/** Calls a user's progress callback, never letting it throw into the native layer. */
function safeProgress(onProgress) {
  if (onProgress === undefined || onProgress === null) return null;
  if (typeof onProgress !== 'function') {
    throw new NeuroDivergentError(codes.INVALID_CONFIG, 'onProgress must be a function');
  }
  return (event) => {
    try {
      onProgress({
        model: event.model,
        step: event.step,
        maxSteps: event.maxSteps,
        loss: event.trainLoss,
        valLoss: event.valLoss ?? undefined,
      });
    } catch (err) {
      process.emitWarning(`onProgress threw: ${err && err.message}`);
    }
  };
}

/** Calls a user's trial callback, never letting it throw into the native layer. */
function safeTrial(onTrial) {
  if (onTrial === undefined || onTrial === null) return null;
  if (typeof onTrial !== 'function') {
    throw new NeuroDivergentError(codes.INVALID_CONFIG, 'onTrial must be a function');
  }
  return (event) => {
    try {
      onTrial({ ...event, loss: event.loss ?? undefined });
    } catch (err) {
      process.emitWarning(`onTrial threw: ${err && err.message}`);
    }
  };
}

/** Runs `start()` (which begins a cancellable native call) with an optional AbortSignal. */
async function withSignal(signal, cancel, start) {
  if (signal) {
    if (signal.aborted) throw new NeuroDivergentError(codes.ABORTED, 'the operation was aborted before it started');
    signal.addEventListener('abort', cancel, { once: true });
  }
  try {
    return unwrap(await start());
  } finally {
    if (signal) signal.removeEventListener('abort', cancel);
  }
}

function positiveInt(value, name, fallback) {
  const v = value === undefined ? fallback : value;
  if (!Number.isInteger(v) || v < 0) {
    throw new NeuroDivergentError(codes.INVALID_CONFIG, `${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The native form of `predictionIntervals` (`undefined`: no calibration). */
function intervalsOf(pi) {
  if (!pi) return null;
  if (pi.method !== undefined && typeof pi.method !== 'string') {
    throw new NeuroDivergentError(codes.INVALID_CONFIG, 'predictionIntervals.method must be a string');
  }
  const optional = (value, name) => (value === undefined ? undefined : positiveInt(value, name, 0));
  return {
    nWindows: optional(pi.nWindows, 'predictionIntervals.nWindows'),
    method: pi.method,
    stepSize: optional(pi.stepSize, 'predictionIntervals.stepSize'),
  };
}

/** The native form of `device` (`undefined`: the CPU). */
function deviceOf(device) {
  if (device === undefined) return null;
  if (typeof device !== 'string') {
    throw new NeuroDivergentError(codes.INVALID_CONFIG, `device must be a string ('cpu', 'cuda', 'cuda:N'), got ${JSON.stringify(device)}`);
  }
  return device;
}

/** An empty native forecaster on `options.device`, for the loaders. */
function nativeForLoad(options) {
  try {
    return new native.NativeForecaster([], null, null, deviceOf((options || {}).device));
  } catch (err) {
    throw fromNative(err);
  }
}

/** The series and exogenous inputs of `predict` and `explain`. */
function forecastInputs(options) {
  const cols = options.data === undefined ? null : toColumns(options.data);
  const exog = {
    extra: cols ? cols.extra : undefined,
    statics: options.staticData === undefined ? undefined : toKeyed(options.staticData, 'staticData', false),
    futr: options.futrData === undefined ? undefined : toKeyed(options.futrData, 'futrData', true),
  };
  return { cols, exog };
}

/** The native ensemble option from `'mean'`, `'median'` or `{ combination, keepMembers }` (`undefined`: none). */
function ensembleOf(ensemble) {
  if (ensemble === undefined || ensemble === null) return null;
  const spec = typeof ensemble === 'string' ? { combination: ensemble } : ensemble;
  if (typeof spec !== 'object' || typeof spec.combination !== 'string'
    || (spec.keepMembers !== undefined && typeof spec.keepMembers !== 'boolean')
    || Object.keys(spec).some((k) => k !== 'combination' && k !== 'keepMembers')) {
    throw new NeuroDivergentError(codes.INVALID_CONFIG,
      `ensemble must be 'mean', 'median' or { combination: 'mean' | 'median', keepMembers?: boolean }, got ${JSON.stringify(ensemble)}`);
  }
  return { combination: spec.combination, keepMembers: spec.keepMembers };
}

class NeuralForecaster {
  /**
   * @param {{ models: BaseModel[], freq?: string|number,
   *           features?: { calendar?: string[], derived?: string[] },
   *           device?: string, ensemble?: string|object }} options
   *   `ensemble`: `'mean'` or `'median'` (or `{ combination, keepMembers }`) adds an `Ensemble`
   *   column combining the models' point forecasts (their own columns dropped unless kept).
   *   `features`: exogenous columns generated from the data, which models list by name:
   *   calendar features of `ds` (`month`, `dayofweek`, `hour`, ...) and features of `y`
   *   (`lag:12` → `y_lag12`, `rolling_mean:24`, `rolling_std:24`, `ema:0.3`).
   *   `device`: `cpu` (default), `cuda` or `cuda:N` (a build with the `cuda` feature).
   */
  constructor(options) {
    const { models: list, freq, features, device, ensemble } = options || {};
    if (!Array.isArray(list) || list.length === 0 || !list.every((m) => m instanceof BaseModel)) {
      throw new NeuroDivergentError(codes.INVALID_CONFIG, 'models must be a non-empty array of model instances (new NHITS({...}), ...)');
    }
    try {
      this._native = new native.NativeForecaster(
        list.map((m) => m.toNative()),
        freq === undefined ? null : String(freq),
        features === undefined ? null : { calendar: features.calendar, derived: features.derived },
        deviceOf(device),
        ensembleOf(ensemble),
      );
    } catch (err) {
      throw fromNative(err);
    }
    this._data = null;
    this._statics = undefined;
    this._modelNames = [];
    this._searches = null;
    this._calls = 0;
  }

  /** Forecast column names (`NHITS`, `NHITS1`, ...), known after fit or load. */
  get modelNames() {
    return [...this._modelNames];
  }

  /**
   * The hyperparameter searches of the `Auto<Model>` models, by forecast column (after fit,
   * crossValidation, loadCheckpoint or loadFromStore; null when no model was searched): the space, algorithm,
   * seed, every trial's `config`, `state`, `loss`, `steps` and `seconds`, and the `best` trial.
   */
  get searches() {
    return this._searches;
  }

  /** Keeps the model names and searches a native call reports. */
  _keep(outcome) {
    this._modelNames = outcome.modelNames;
    this._searches = outcome.searches ? JSON.parse(outcome.searches) : null;
    return outcome;
  }

  /**
   * Trains every model.
   * @param data records or columns
   * @param {{ valSize?: number, onProgress?: Function, onTrial?: Function, signal?: AbortSignal,
   *           staticData?: object,
   *           predictionIntervals?: { nWindows?: number, method?: string,
   *                                   stepSize?: number } }} [options]
   *   `staticData`: static exogenous values, records `[{ unique_id, ... }]` or columns.
   */
  async fit(data, options = {}) {
    const { ids, ds, y, extra } = toColumns(data);
    const statics = options.staticData === undefined ? undefined : toKeyed(options.staticData, 'staticData', false);
    const valSize = positiveInt(options.valSize, 'valSize', 0);
    const intervals = intervalsOf(options.predictionIntervals);
    const call = ++this._calls;
    const outcome = await withSignal(options.signal, () => this._native.cancel(call), () =>
      this._native.fit(ids, ds, y, { extra, statics }, valSize, safeProgress(options.onProgress), intervals, call,
        safeTrial(options.onTrial)),
    );
    this._data = { ids, ds, y, extra };
    this._statics = statics;
    this._keep(outcome);
    return this;
  }

  /**
   * Forecasts `h` steps after each series (those of `options.data` when given).
   * @param {{ data?: object, futrData?: object, staticData?: object,
   *           format?: 'records'|'columns'|'arrow', level?: number[] }} [options]
   *   `futrData`: future exogenous values over the horizon, records `[{ unique_id, ds, ... }]`
   *   or columns; `staticData` replaces the static values of the fit;
   *   `level`: conformal interval levels (percent); the fit must have used `predictionIntervals`.
   */
  async predict(options = {}) {
    const level = levelsOf(options.level);
    const { cols, exog } = forecastInputs(options);
    const outcome = unwrap(
      await (cols
        ? this._native.predict(cols.ids, cols.ds, cols.y, exog, level)
        : this._native.predict(null, null, null, exog, level)),
    );
    return formatForecasts(outcome.forecasts, options.format);
  }

  /**
   * Explains the forecasts `predict` makes from the same `data`, `futrData` and `staticData`:
   * for each interpretable model (TFT), one entry per forecast window with the weight of each
   * variable at each step (`past_importance`, `future_importance`, `static_importance`) and
   * the attention between steps averaged over heads (`attention`). Rejects with
   * `ND_INVALID_CONFIG` when no model explains its forecasts.
   * @param {{ data?: object, futrData?: object, staticData?: object }} [options]
   */
  async explain(options = {}) {
    const { cols, exog } = forecastInputs(options);
    const outcome = unwrap(
      await (cols
        ? this._native.explain(cols.ids, cols.ds, cols.y, exog)
        : this._native.explain(null, null, null, exog)),
    );
    return JSON.parse(outcome.explanations);
  }

  /**
   * Rolling-origin cross-validation; uses the data of the last fit unless `data` is given.
   * @param {{ nWindows: number, stepSize?: number, valSize?: number, data?: object,
   *           staticData?: object, format?: 'records'|'columns'|'arrow', onProgress?: Function, onTrial?: Function,
   *           signal?: AbortSignal, predictionIntervals?: object, level?: number[] }} options
   *   Future exogenous values come from the data itself; static values from `staticData` or the
   *   last fit. With `predictionIntervals` (as in `fit`) and `level`, the forecasts carry
   *   conformal intervals calibrated on windows before the first cutoff.
   */
  async crossValidation(options = {}) {
    const cols = options.data === undefined ? this._data : toColumns(options.data);
    const statics = options.staticData === undefined ? this._statics : toKeyed(options.staticData, 'staticData', false);
    if (!cols) throw new NeuroDivergentError(codes.NOT_FITTED, 'crossValidation needs data: pass { data } or call fit first');
    const nWindows = positiveInt(options.nWindows, 'nWindows', 1);
    const stepSize = positiveInt(options.stepSize, 'stepSize', 0);
    const valSize = positiveInt(options.valSize, 'valSize', 0);
    const intervals = intervalsOf(options.predictionIntervals);
    const level = levelsOf(options.level);
    const call = ++this._calls;
    const outcome = await withSignal(options.signal, () => this._native.cancel(call), () =>
      this._native.crossValidation(
        cols.ids, cols.ds, cols.y, { extra: cols.extra, statics }, nWindows, stepSize, valSize,
        safeProgress(options.onProgress), intervals, level, call, safeTrial(options.onTrial),
      ),
    );
    this._keep(outcome);
    return formatForecasts(outcome.forecasts, options.format);
  }

  /** Writes a checkpoint directory (the same format as the CLI's `--save`). */
  async saveCheckpoint(path) {
    unwrap(await this._native.save(String(path)));
  }

  /**
   * Loads a checkpoint directory written by `saveCheckpoint` or the CLI.
   * @param {{ device?: string }} [options] the device to forecast (and refit) on
   */
  static async loadCheckpoint(path, options = {}) {
    const forecaster = Object.create(NeuralForecaster.prototype);
    forecaster._native = nativeForLoad(options);
    forecaster._data = null;
    forecaster._statics = undefined;
    forecaster._calls = 0;
    forecaster._keep(unwrap(await forecaster._native.load(String(path))));
    return forecaster;
  }

  /**
   * Loads `NAME`, `NAME@VERSION` or `NAME@ALIAS` from a ModelStore.
   * @param {{ device?: string }} [options] the device to forecast (and refit) on
   */
  static async loadFromStore(store, reference, options = {}) {
    if (!(store instanceof ModelStore)) {
      throw new NeuroDivergentError(codes.STORE, 'loadFromStore takes a ModelStore (await ModelStore.open(url))');
    }
    const forecaster = Object.create(NeuralForecaster.prototype);
    forecaster._native = nativeForLoad(options);
    forecaster._data = null;
    forecaster._statics = undefined;
    forecaster._calls = 0;
    const outcome = await store._native.load(String(reference), forecaster._native);
    if (outcome.failure) throw fromFailure(outcome.failure);
    const { version, searches } = JSON.parse(outcome.value);
    forecaster._storeVersion = toVersionInfo(version);
    forecaster._modelNames = [...forecaster._storeVersion.models];
    forecaster._searches = searches;
    return forecaster;
  }

  /** The store version this forecaster was loaded from (`loadFromStore`), or null. */
  get storeVersion() {
    return this._storeVersion || null;
  }
}

/** Forecast accuracy helpers (the library's own definitions; sMAPE in 0-200). */
function metricFn(name) {
  return (y, yhat, train, seasonLength) => {
    const r = native.metric(name, Float64Array.from(y), Float64Array.from(yhat),
      train === undefined ? null : Float64Array.from(train), seasonLength ?? null);
    if (r.failure) throw fromFailure(r.failure);
    return r.value;
  };
}
const metrics = Object.freeze(Object.fromEntries(['mae', 'mse', 'rmse', 'mape', 'smape', 'mase'].map((n) => [n, metricFn(n)])));

/**
 * Sets the number of threads for tensor work (default: the physical cores); call before the
 * first fit, predict or load. Sets RAYON_NUM_THREADS=1 and CANDLE_NUM_THREADS=1 in the process
 * environment (see index.d.ts).
 */
function setThreads(threads) {
  const failure = native.setThreads(threads);
  if (failure) throw fromFailure(failure);
}

/** The CPU, its vector extensions and the matrix kernels in use (see index.d.ts). */
function systemInfo() {
  return native.systemInfo();
}

module.exports = { NeuralForecaster, ModelStore, NeuroDivergentError, codes, metrics, setThreads, systemInfo, BaseModel, AutoModel, ...models };
