/** Options every model takes. */
export interface CommonModelOptions {
  /** Forecast horizon. */
  h: number;
  /** Insample window length; -1 for 3 x h (NeuralForecast's convention). */
  inputSize: number;
  /** Column name of this model's forecasts (default: the model name). */
  alias?: string;
}

/** Base of all model classes. */
export declare class BaseModel {
  /** Model name, e.g. 'NHITS'. */
  readonly model: string;
  /** Forecast horizon. */
  readonly h: number;
  /** Insample window length. */
  readonly inputSize: number;
  /** Hyperparameters by NeuralForecast name. */
  readonly params: Record<string, unknown>;
  /** Column name of this model's forecasts. */
  readonly name: string;
}

/** How an `Auto<Model>` searches its model's hyperparameters (NeuralForecast's `Auto*` options). */
export interface AutoSearchOptions {
  /** Forecast horizon. */
  h: number;
  /** Insample window length; searched (as `input_size_multiplier` x h) unless given. */
  inputSize?: number;
  /** Column name of the forecasts (default: `Auto<Model>`). */
  alias?: string;
  /** Trials to run (default 10); a model's own `num_samples` can be set in a given `space`. */
  numSamples?: number;
  /** How configurations are chosen: `random` (default) or `tpe` (Optuna's TPE). */
  search?: 'random' | 'tpe';
  /**
   * The space searched, by NeuralForecast name, with Ray Tune's domains
   * (`{ "learning_rate": { "loguniform": [1e-4, 1e-1] }, "max_steps": { "choice": [500, 1000] } }`);
   * default: NeuralForecast's `default_config` of the model.
   */
  space?: Record<string, unknown>;
  /** Stop poor trials early by successive halving (ASHA). */
  halving?: boolean;
  /** Steps before the first halving (default: the model's `valCheckSteps`). */
  halvingGrace?: number;
  /** Seed of the configurations drawn (default 1); the same seed and thread count repeat a search. */
  seed?: number;
  /** Points at the end of each series each trial is scored on (default: the fit's `valSize`, else the horizon). */
  valSize?: number;
  /** Refit the chosen configuration holding out the scored points (early stopping, validation). */
  refitWithVal?: boolean;
}

/** Base of the `Auto<Model>` classes: the options given are fixed, the others searched. */
export declare class AutoModel extends BaseModel {
  /** The search's options as passed to the native layer. */
  readonly search: Record<string, unknown>;
}
