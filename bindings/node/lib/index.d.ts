import { BaseModel } from './base-model';

export * from './models';
export { AutoModel, AutoSearchOptions, BaseModel, CommonModelOptions } from './base-model';

/** A `ds` value: a Date, an ISO date/datetime string or an integer time index. */
export type DsValue = Date | string | number;

/** One long-format observation; other numeric fields are exogenous columns. */
export interface SeriesRecord {
  unique_id: string | number;
  ds: DsValue;
  y: number;
  [exogenous: string]: string | number | DsValue;
}

/**
 * Long-format data as columns. A Float64Array `y` is read in place by the worker thread: as with
 * `fs.write`, do not modify it until the returned Promise settles.
 */
export interface SeriesColumns {
  unique_id: ArrayLike<string | number>;
  ds: ArrayLike<DsValue>;
  y: Float64Array | ArrayLike<number>;
  /** Other columns of the same length are exogenous columns. */
  [exogenous: string]: ArrayLike<string | number | DsValue>;
}

/**
 * An Apache Arrow `Table` (the `apache-arrow` package), by its shape: columns `unique_id`
 * (text, dictionary or integers), `ds` (dates, timestamps, ISO text or integers), `y` (numbers)
 * and exogenous columns.
 */
export interface ArrowTable {
  readonly numRows: number;
  readonly schema: { readonly fields: ReadonlyArray<{ readonly name: string }> };
  getChild(name: string): unknown;
}

/** Data in any of the accepted shapes. */
export type SeriesData = SeriesRecord[] | SeriesColumns | ArrowTable;

/** Static exogenous values: one row per series, `{ unique_id, <column>: number, ... }`. */
export type StaticData =
  | Array<{ unique_id: string | number; [column: string]: string | number }>
  | { unique_id: ArrayLike<string | number>; [column: string]: ArrayLike<string | number> };

/** Future exogenous values over the horizon: `{ unique_id, ds, <column>: number, ... }`. */
export type FutureData =
  | Array<{ unique_id: string | number; ds: DsValue; [column: string]: string | number | DsValue }>
  | {
      unique_id: ArrayLike<string | number>;
      ds: ArrayLike<DsValue>;
      [column: string]: ArrayLike<string | number | DsValue>;
    };

/** Exogenous columns generated from the data; models list them by name. */
/** A device to train and forecast on. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export interface FeatureOptions {
  /** Calendar features of `ds`, future columns: `minute`, `hour`, `dayofweek`, `day`, `dayofyear`, `week`, `month`. */
  calendar?: string[];
  /** Features of `y`, historic columns: `lag:K` (`y_lagK`), `rolling_mean:W`, `rolling_std:W`, `ema:ALPHA`. */
  derived?: string[];
}

/** A training progress report. */
export interface ProgressEvent {
  model: string;
  step: number;
  maxSteps: number;
  loss: number;
  valLoss?: number;
}

/** A forecast row: `unique_id`, `ds` and one numeric column per model (plus `cutoff`, `y` in CV). */
export interface ForecastRecord {
  unique_id: string;
  ds: string | number;
  cutoff?: string | number;
  y?: number;
  [model: string]: string | number | undefined;
}

/** Forecasts as columns: `unique_id`, `ds` and one Float64Array per model. */
export interface ForecastColumns {
  unique_id: string[];
  ds: Array<string | number>;
  cutoff?: Array<string | number>;
  y?: Float64Array;
  [model: string]: Float64Array | Array<string | number> | string[] | undefined;
}

export interface FitOptions {
  /** Points at the end of each series held out for validation and early stopping. */
  valSize?: number;
  onProgress?: (event: ProgressEvent) => void;
  /** Hears every finished trial of the `Auto<Model>` searches that run before the fit. */
  onTrial?: (event: TrialEvent) => void;
  signal?: AbortSignal;
  /** Static exogenous values of the series (needed by models with `statExogList`). */
  staticData?: StaticData;
  /**
   * Calibrate conformal prediction intervals for the point models (extra cross-validation).
   * `{}` gives calibrated defaults: scaled errors pooled across series per horizon step, on
   * calibration windows chosen from the data. A level the calibration cannot support is
   * reported with `process.emitWarning` when forecasting.
   */
  predictionIntervals?: PredictionIntervalsOptions;
}

/** Conformal calibration settings; what is left out is chosen from the data. */
export interface PredictionIntervalsOptions {
  /** Calibration windows (default: from the data; 2 for NeuralForecast's methods). */
  nWindows?: number;
  method?: 'conformal_pooled' | 'conformal_distribution' | 'conformal_error';
  /** Distance between calibration cutoffs (default: the horizon, or closer for short series; 1 for NeuralForecast's methods). */
  stepSize?: number;
}

export interface PredictOptions {
  /** Forecast these series instead of those seen at fit time. */
  data?: SeriesData;
  /** Future exogenous values over the horizon (needed by models with `futrExogList`). */
  futrData?: FutureData;
  /** Static values replacing those given at fit time. */
  staticData?: StaticData;
  /** Conformal interval levels in percent (adds `-lo-L` / `-hi-L` columns); needs `predictionIntervals` at fit. */
  level?: number | number[];
  format?: 'records' | 'columns' | 'arrow';
}

/** What an interpretable model (TFT) weighed to forecast one window. */
export interface SeriesExplanation {
  unique_id: string;
  /** `input_size` rows, one weight per past variable, each row summing to 1. */
  past_importance: number[][];
  /** `horizon` rows, one weight per future variable, each row summing to 1. */
  future_importance: number[][];
  /** One weight per static variable (empty without static columns). */
  static_importance: number[];
  /** `input_size + horizon` rows of attention over the same steps, averaged over heads; rows sum to 1. */
  attention: number[][];
}

/** One interpretable model's explanation of its forecasts. */
export interface ModelExplanation {
  model: string;
  input_size: number;
  horizon: number;
  /** Historic columns, future columns (or `repeated_target`), then `observed_target`. */
  past_variables: string[];
  /** Future columns, or `repeated_target` when there are none. */
  future_variables: string[];
  static_variables: string[];
  /** One entry per forecast window, in the forecasts' order. */
  series: SeriesExplanation[];
}

export interface CrossValidationOptions {
  nWindows: number;
  /** Distance between cutoffs (default: the horizon). */
  stepSize?: number;
  valSize?: number;
  /** Data to cross-validate (default: the data of the last fit). */
  data?: SeriesData;
  /** Static values (default: those of the last fit). */
  staticData?: StaticData;
  format?: 'records' | 'columns' | 'arrow';
  onProgress?: (event: ProgressEvent) => void;
  /** Hears every finished trial of the `Auto<Model>` searches that run before the first cutoff. */
  onTrial?: (event: TrialEvent) => void;
  signal?: AbortSignal;
  /** Calibrate conformal intervals on windows before the first cutoff (as `fit` does). */
  predictionIntervals?: PredictionIntervalsOptions;
  /** Interval levels (percent) for the point models; needs `predictionIntervals`. */
  level?: number | number[];
}

/** A finished trial of a search, as `onTrial` hears it. */
export interface TrialEvent {
  /** The column of the model searched (`AutoNHITS`). */
  model: string;
  /** The trial's number, from 0 in the order drawn. */
  number: number;
  state: 'complete' | 'stopped' | 'failed';
  /** Its last validation loss (undefined when it failed). */
  loss?: number;
  steps: number;
  seconds: number;
  /** Trials of this search finished so far, and in all. */
  finished: number;
  total: number;
}

/** One trial of a hyperparameter search. */
export interface SearchTrial {
  /** Trial number, from 0 in the order drawn. */
  number: number;
  /** The values drawn, by NeuralForecast name. */
  config: Record<string, unknown>;
  /** `complete`, `stopped` (by successive halving) or `failed`. */
  state: 'complete' | 'stopped' | 'failed';
  /** The last validation loss (null when failed). */
  loss: number | null;
  /** Training steps run. */
  steps: number;
  /** Wall time in seconds. */
  seconds: number;
  /** Why the trial failed. */
  message?: string;
}

/** A model's hyperparameter search, kept with it (and in its checkpoints). */
export interface SearchHistory {
  /** The model searched (`NHITS`). */
  model: string;
  /** `random` or `tpe`. */
  algorithm: 'random' | 'tpe';
  seed: number;
  /** Points each trial was scored on. */
  val_size: number;
  /** Successive halving, when used. */
  halving: { grace_steps: number; factor: number } | null;
  /** The space searched (Ray Tune's domains). */
  space: Record<string, unknown>;
  trials: SearchTrial[];
  /** The number of the best trial. */
  best: number;
}

/** Fits models on a panel of series and forecasts them. */
export declare class NeuralForecaster {
  constructor(options: {
    models: BaseModel[];
    freq?: string | number;
    features?: FeatureOptions;
    /** Where to train and forecast: `cpu` (default), `cuda` or `cuda:N` (needs a build with the `cuda` feature). */
    device?: Device;
    /**
     * An `Ensemble` column: the mean or median of the models' point forecasts (at least two
     * models); the members' own columns are dropped unless `keepMembers`. Saved with the models.
     */
    ensemble?: 'mean' | 'median' | { combination: 'mean' | 'median'; keepMembers?: boolean };
  });
  /** Forecast column names, known after fit or load. */
  readonly modelNames: string[];
  /**
   * The hyperparameter searches of the `Auto<Model>` models by forecast column (after fit,
   * crossValidation, loadCheckpoint or loadFromStore; null when no model was searched).
   */
  readonly searches: Record<string, SearchHistory> | null;
  fit(data: SeriesData, options?: FitOptions): Promise<this>;
  predict(options?: PredictOptions & { format?: 'records' }): Promise<ForecastRecord[]>;
  predict(options: PredictOptions & { format: 'columns' }): Promise<ForecastColumns>;
  /** Forecasts as an Apache Arrow `Table` (needs the `apache-arrow` package installed). */
  predict(options: PredictOptions & { format: 'arrow' }): Promise<ArrowTable>;
  /** Explains the forecasts `predict` makes from the same inputs (interpretable models only: TFT). */
  explain(options?: Pick<PredictOptions, 'data' | 'futrData' | 'staticData'>): Promise<ModelExplanation[]>;
  crossValidation(options: CrossValidationOptions & { format?: 'records' }): Promise<ForecastRecord[]>;
  crossValidation(options: CrossValidationOptions & { format: 'columns' }): Promise<ForecastColumns>;
  crossValidation(options: CrossValidationOptions & { format: 'arrow' }): Promise<ArrowTable>;
  saveCheckpoint(path: string): Promise<void>;
  static loadCheckpoint(path: string, options?: { device?: Device }): Promise<NeuralForecaster>;
  /** Loads `NAME`, `NAME@VERSION` or `NAME@ALIAS` from a model store. */
  static loadFromStore(store: ModelStore, reference: string, options?: { device?: Device }): Promise<NeuralForecaster>;
  /** The store version this forecaster was loaded from, or null. */
  readonly storeVersion: VersionInfo | null;
}

/** The fingerprint of the data a stored version was fitted on. */
export interface DataFingerprint {
  source: string;
  series: number;
  rows: number;
  firstDs: string;
  lastDs: string;
  sha256: string;
}

/** What a model store records about one version (everything but the weights). */
export interface VersionInfo {
  name: string;
  version: number;
  /** RFC 3339 UTC time of publication. */
  createdAt: string;
  libraryVersion: string;
  /** Forecast model names (`NHITS`, ...). */
  models: string[];
  /** Each model's configuration. */
  params: unknown[];
  data: DataFingerprint | null;
  /** Scores of the fit (`NHITS/train_loss`, `NHITS/valid_loss`) and those given to publish. */
  scores: Record<string, number>;
  tags: Record<string, string>;
  aliases: string[];
  weightsSha256: string;
  weightsBytes: number;
}

export interface PublishOptions {
  /** Aliases to point at the new version (moved if they exist). */
  alias?: string | string[];
  tags?: Record<string, string>;
  scores?: Record<string, number>;
}

/**
 * Versioned models in SQLite (`sqlite:PATH`, embedded) or PostgreSQL (`postgres://...`, shared
 * by many nodes); the same store the CLI's `--store` uses. Failures reject with code ND_STORE,
 * or ND_NOT_FOUND for a model, version or alias the store does not have.
 */
export declare class ModelStore {
  private constructor();
  static open(url: string): Promise<ModelStore>;
  publish(forecaster: NeuralForecaster, name: string, options?: PublishOptions): Promise<VersionInfo>;
  list(name?: string): Promise<VersionInfo[]>;
  show(reference: string): Promise<VersionInfo>;
  /** Resolves to the version the alias pointed to before, or null. */
  setAlias(name: string, alias: string, version: number): Promise<number | null>;
  close(): Promise<void>;
}

/** Stable error codes. */
export declare const codes: {
  readonly INVALID_DATA: 'ND_INVALID_DATA';
  readonly INVALID_CONFIG: 'ND_INVALID_CONFIG';
  readonly NOT_FITTED: 'ND_NOT_FITTED';
  readonly BUSY: 'ND_BUSY';
  readonly ABORTED: 'ND_ABORTED';
  readonly CHECKPOINT: 'ND_CHECKPOINT';
  readonly IO: 'ND_IO';
  readonly TRAIN: 'ND_TRAIN';
  readonly STORE: 'ND_STORE';
  readonly NOT_FOUND: 'ND_NOT_FOUND';
  readonly INTERNAL: 'ND_INTERNAL';
};

/** Every failure of the package; `name` is 'AbortError' for cancelled calls. */
export declare class NeuroDivergentError extends Error {
  readonly code: (typeof codes)[keyof typeof codes];
}

type Metric = (y: ArrayLike<number>, yhat: ArrayLike<number>, train?: ArrayLike<number>, seasonLength?: number) => number;
/** Accuracy metrics with the library's definitions (sMAPE in 0-200; MASE needs train). */
export declare const metrics: { mae: Metric; mse: Metric; rmse: Metric; mape: Metric; smape: Metric; mase: Metric };

/**
 * Sets the threads for tensor work (default: the physical cores); call before the first fit,
 * predict or load. Each batch of windows is split across them. Candle's own kernels then run
 * single-threaded: this sets RAYON_NUM_THREADS=1 and CANDLE_NUM_THREADS=1 in the process
 * environment, which child processes inherit.
 */
export declare function setThreads(threads: number): void;

/** The machine speed figures are measured on. */
export interface SystemInfo {
  /** The CPU's model name, or 'unknown'. */
  cpu: string;
  /** Vector extensions the CPU has that matter to the matrix kernels ('avx2', 'fma', 'avx512f', ...). */
  simd: string[];
  /** The matrix-multiplication kernels in use, chosen at run time from the CPU. */
  kernelPath: 'avx512' | 'avx2-fma' | 'neon' | 'scalar';
  /** Whether this addon was built with the AVX-512 kernels (used where the CPU has AVX-512F). */
  avx512Build: boolean;
}

/** Describes the CPU and the matrix kernels that run on it; configures nothing. */
export declare function systemInfo(): SystemInfo;
