import { BaseModel } from './base-model';

export * from './models';
export { BaseModel, CommonModelOptions } from './base-model';

/** A `ds` value: a Date, an ISO date/datetime string or an integer time index. */
export type DsValue = Date | string | number;

/** One long-format observation. */
export interface SeriesRecord {
  unique_id: string | number;
  ds: DsValue;
  y: number;
}

/**
 * Long-format data as columns. A Float64Array `y` is read in place by the worker thread: as with
 * `fs.write`, do not modify it until the returned Promise settles.
 */
export interface SeriesColumns {
  unique_id: ArrayLike<string | number>;
  ds: ArrayLike<DsValue>;
  y: Float64Array | ArrayLike<number>;
}

/** Data in either shape. */
export type SeriesData = SeriesRecord[] | SeriesColumns;

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
  signal?: AbortSignal;
  /** Calibrate conformal prediction intervals for the point models (extra cross-validation). */
  predictionIntervals?: { nWindows?: number; method?: 'conformal_distribution' | 'conformal_error' };
}

export interface PredictOptions {
  /** Forecast these series instead of those seen at fit time. */
  data?: SeriesData;
  /** Conformal interval levels in percent (adds `-lo-L` / `-hi-L` columns); needs `predictionIntervals` at fit. */
  level?: number | number[];
  format?: 'records' | 'columns';
}

export interface CrossValidationOptions {
  nWindows: number;
  /** Distance between cutoffs (default: the horizon). */
  stepSize?: number;
  valSize?: number;
  /** Data to cross-validate (default: the data of the last fit). */
  data?: SeriesData;
  format?: 'records' | 'columns';
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

/** Fits models on a panel of series and forecasts them. */
export declare class NeuralForecaster {
  constructor(options: { models: BaseModel[]; freq?: string | number });
  /** Forecast column names, known after fit or load. */
  readonly modelNames: string[];
  fit(data: SeriesData, options?: FitOptions): Promise<this>;
  predict(options?: PredictOptions & { format?: 'records' }): Promise<ForecastRecord[]>;
  predict(options: PredictOptions & { format: 'columns' }): Promise<ForecastColumns>;
  crossValidation(options: CrossValidationOptions & { format?: 'records' }): Promise<ForecastRecord[]>;
  crossValidation(options: CrossValidationOptions & { format: 'columns' }): Promise<ForecastColumns>;
  saveCheckpoint(path: string): Promise<void>;
  static loadCheckpoint(path: string): Promise<NeuralForecaster>;
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
  readonly INTERNAL: 'ND_INTERNAL';
};

/** Every failure of the package; `name` is 'AbortError' for cancelled calls. */
export declare class NeuroDivergentError extends Error {
  readonly code: (typeof codes)[keyof typeof codes];
}

type Metric = (y: ArrayLike<number>, yhat: ArrayLike<number>, train?: ArrayLike<number>, seasonLength?: number) => number;
/** Accuracy metrics with the library's definitions (sMAPE in 0-200; MASE needs train). */
export declare const metrics: { mae: Metric; mse: Metric; rmse: Metric; mape: Metric; smape: Metric; mase: Metric };

/** Sets the threads for tensor work; call before the first fit, predict or load. */
export declare function setThreads(threads: number): void;
