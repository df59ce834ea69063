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
