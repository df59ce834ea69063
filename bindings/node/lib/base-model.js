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
   * @param {{ label?: string, searched?: boolean, otherKeys?: string[] }} [kind] for searched
   *   models (`AutoModel`): the class name in messages, `inputSize` optional, the search's
   *   own option names (listed in messages, handled by the subclass)
   */
  constructor(name, options, paramKeys, kind = {}) {
    const opts = options || {};
    const label = kind.label || name;
    const otherKeys = kind.otherKeys || [];
    const byCamel = new Map(paramKeys.map((k) => [toCamel(k), k]));
    if (!Number.isInteger(opts.h) || opts.h < 1) {
      throw new NeuroDivergentError(codes.INVALID_CONFIG, `${label}: h must be a positive integer, got ${JSON.stringify(opts.h)}`);
    }
    const inputSizeOptional = kind.searched && opts.inputSize === undefined;
    if (!inputSizeOptional && (!Number.isInteger(opts.inputSize) || (opts.inputSize < 1 && opts.inputSize !== -1))) {
      throw new NeuroDivergentError(
        codes.INVALID_CONFIG,
        `${label}: inputSize must be a positive integer, or -1 for 3 x h, got ${JSON.stringify(opts.inputSize)}`,
      );
    }
    const params = {};
    for (const [key, value] of Object.entries(opts)) {
      if (key === 'h' || key === 'inputSize' || otherKeys.includes(key) || value === undefined) continue;
      if (key === 'alias') {
        params.alias = value;
        continue;
      }
      const snake = byCamel.get(key);
      if (!snake) {
        throw new NeuroDivergentError(
          codes.INVALID_CONFIG,
          `${label} has no option '${key}'; its options are: h, inputSize, alias, ${[...otherKeys, ...byCamel.keys()].join(', ')}`,
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

/** The options of a search, beside the searched model's own. */
const SEARCH_KEYS = ['numSamples', 'search', 'space', 'halving', 'halvingGrace', 'seed', 'valSize', 'refitWithVal'];

/** `value` when it is undefined or passes `ok`, else an INVALID_CONFIG error naming `key` and `expected`. */
function checked(label, key, value, ok, expected) {
  if (value === undefined || ok(value)) return value;
  throw new NeuroDivergentError(codes.INVALID_CONFIG, `${label}: ${key} must be ${expected}, got ${JSON.stringify(value)}`);
}

/**
 * Base of the generated `Auto<Model>` classes: the model's options that are given are fixed,
 * the others are searched (NeuralForecast's default space unless `space` is given) before the
 * fit, and the best configuration is fitted under the name `Auto<Model>`.
 */
class AutoModel extends BaseModel {
  /**
   * @param {string} name the searched model's name as in the Rust registry
   * @param {object} options `{ h, numSamples?, search?, space?, halving?, halvingGrace?, seed?,
   *   valSize?, refitWithVal?, inputSize?, alias?, ...the model's hyperparameters to fix }`;
   *   `numSamples` is the number of trials (a model's own `num_samples` can be set in a given
   *   `space`)
   * @param {string[]} paramKeys the model's NeuralForecast hyperparameter names
   */
  constructor(name, options, paramKeys) {
    const label = `Auto${name}`;
    super(name, options, paramKeys, { label, searched: true, otherKeys: SEARCH_KEYS });
    const opts = options || {};
    // The native fields are 32-bit: larger values would wrap.
    const count = (v) => Number.isInteger(v) && v >= 1 && v <= 0xffffffff;
    const natural = (v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
    const flag = (v) => typeof v === 'boolean';
    const space = checked(label, 'space', opts.space, (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
      'an object of hyperparameters and their domains');
    this.search = {
      numSamples: checked(label, 'numSamples', opts.numSamples, count, 'a positive 32-bit integer'),
      algorithm: checked(label, 'search', opts.search, (v) => typeof v === 'string', "'random' or 'tpe'"),
      spaceJson: space === undefined ? undefined : JSON.stringify(space),
      halving: checked(label, 'halving', opts.halving, flag, 'true or false'),
      halvingGrace: checked(label, 'halvingGrace', opts.halvingGrace, count, 'a positive 32-bit integer'),
      seed: checked(label, 'seed', opts.seed, natural, 'a non-negative 32-bit integer'),
      valSize: checked(label, 'valSize', opts.valSize, natural, 'a non-negative 32-bit integer'),
      refitWithVal: checked(label, 'refitWithVal', opts.refitWithVal, flag, 'true or false'),
    };
  }

  /** The column name of this model's forecasts (alias or `Auto<Model>`). */
  get name() {
    return this.params.alias || `Auto${this.model}`;
  }

  /** The configuration passed to the native layer. */
  toNative() {
    return { ...super.toNative(), search: this.search };
  }
}

module.exports = { AutoModel, BaseModel, toCamel };
