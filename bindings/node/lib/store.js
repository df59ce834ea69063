'use strict';
/**
 * ModelStore: versioned models in SQLite (`sqlite:PATH`) or PostgreSQL (`postgres://...`),
 * shared with the CLI's `--store`. Failures reject with a NeuroDivergentError of code ND_STORE
 * (or the library's code for a model problem, such as ND_NOT_FITTED).
 */
const native = require('./native.js');
const { codes, NeuroDivergentError, fromFailure } = require('./errors.js');

function unwrapValue(outcome) {
  if (outcome.failure) throw fromFailure(outcome.failure);
  return outcome.value === null || outcome.value === undefined ? null : JSON.parse(outcome.value);
}

/** A stored version's record, with camelCase keys. */
function toVersionInfo(v) {
  return {
    name: v.name,
    version: v.version,
    createdAt: v.created_at,
    libraryVersion: v.library_version,
    models: v.models,
    params: v.params,
    data: v.data && {
      source: v.data.source,
      series: v.data.series,
      rows: v.data.rows,
      firstDs: v.data.first_ds,
      lastDs: v.data.last_ds,
      sha256: v.data.sha256,
    },
    scores: v.scores,
    tags: v.tags,
    aliases: v.aliases,
    weightsSha256: v.weights_sha256,
    weightsBytes: v.weights_bytes,
  };
}

function stringRecord(value, what) {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new NeuroDivergentError(codes.STORE, `${what} must be an object`);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
}

class ModelStore {
  /** Use `ModelStore.open(url)`. */
  constructor(nativeStore) {
    this._native = nativeStore;
  }

  /** Opens the store at `url` (creating a missing SQLite file). */
  static async open(url) {
    if (typeof url !== 'string') {
      throw new NeuroDivergentError(codes.STORE, 'the store URL must be a string (sqlite:PATH or postgres://...)');
    }
    const handle = new native.NativeStore();
    unwrapValue(await handle.open(url));
    return new ModelStore(handle);
  }

  /**
   * Publishes a fitted forecaster as the next version of `name`.
   * @param {{ alias?: string|string[], tags?: Record<string,string>, scores?: Record<string,number> }} [options]
   */
  async publish(forecaster, name, options = {}) {
    if (!forecaster || !forecaster._native) {
      throw new NeuroDivergentError(codes.STORE, 'publish takes a NeuralForecaster');
    }
    const alias = options.alias === undefined ? [] : [].concat(options.alias).map(String);
    const scores = options.scores === undefined ? {} : Object.fromEntries(
      Object.entries(options.scores).map(([k, v]) => [k, Number(v)]));
    const tags = stringRecord(options.tags, 'tags');
    return toVersionInfo(unwrapValue(await this._native.publish(forecaster._native, String(name), alias, tags, scores)));
  }

  /** Every version (of `name` when given), by name and version. */
  async list(name) {
    const value = unwrapValue(await this._native.list(name === undefined ? null : String(name)));
    return value.map(toVersionInfo);
  }

  /** The record of `NAME`, `NAME@VERSION` or `NAME@ALIAS`. */
  async show(reference) {
    return toVersionInfo(unwrapValue(await this._native.show(String(reference))));
  }

  /** Points `alias` of `name` at `version`; resolves to the version it pointed to before, or null. */
  async setAlias(name, alias, version) {
    return unwrapValue(await this._native.setAlias(String(name), String(alias), Number(version)));
  }

  /** Closes the store's connections. */
  async close() {
    unwrapValue(await this._native.close());
  }
}

module.exports = { ModelStore, toVersionInfo };
