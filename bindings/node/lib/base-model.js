'use strict';
/**
 * Base of the generated model classes: camelCase options mapped to NeuralForecast's names.
 */
const { codes, NeuroDivergentError } = require('./errors.js');

const toCamel = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

class BaseModel {
  /**
   * @param {string} name model name as in the Rust registry
   * @param {object} options `{ h, inputSize (-1: 3 x h), alias?, ...hyperparameters in camelCase }`
   * @param {string[]} paramKeys the model's NeuralForecast hyperparameter names
   */
  constructor(name, options, paramKeys) {
    const opts = options || {};
    const byCamel = new Map(paramKeys.map((k) => [toCamel(k), k]));
    if (!Number.isInteger(opts.h) || opts.h < 1) {
      throw new NeuroDivergentError(codes.INVALID_CONFIG, `${name}: h must be a positive integer, got ${JSON.stringify(opts.h)}`);
    }
    if (!Number.isInteger(opts.inputSize) || (opts.inputSize < 1 && opts.inputSize !== -1)) {
      throw new NeuroDivergentError(
        codes.INVALID_CONFIG,
        `${name}: inputSize must be a positive integer, or -1 for 3 x h, got ${JSON.stringify(opts.inputSize)}`,
      );
    }
    const params = {};
    for (const [key, value] of Object.entries(opts)) {
      if (key === 'h' || key === 'inputSize' || value === undefined) continue;
      if (key === 'alias') {
        params.alias = value;
        continue;
      }
      const snake = byCamel.get(key);
      if (!snake) {
        throw new NeuroDivergentError(
          codes.INVALID_CONFIG,
          `${name} has no option '${key}'; its options are: h, inputSize, alias, ${[...byCamel.keys()].join(', ')}`,
        );
      }
      params[snake] = value;
    }
    this.model = name;
    this.h = opts.h;
    this.inputSize = opts.inputSize;
    this.params = params;
  }

  /** The column name of this model's forecasts (alias or model name). */
  get name() {
    return this.params.alias || this.model;
  }

  /** The configuration passed to the native layer. */
  toNative() {
    return { model: this.model, h: this.h, inputSize: this.inputSize, paramsJson: JSON.stringify(this.params) };
  }
}

module.exports = { BaseModel, toCamel };
