'use strict';
/**
 * Conversions between the public data shapes (records or columns) and the native columns.
 */
const { codes, NeuroDivergentError } = require('./errors.js');

const pad = (n) => String(n).padStart(2, '0');

/** A `ds` value as the native layer takes it: ISO text or an integer. */
function normalizeDs(value, row) {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) {
      throw new NeuroDivergentError(codes.INVALID_DATA, `data: row ${row + 1}: ds is an invalid Date`);
    }
    const date = `${value.getUTCFullYear()}-${pad(value.getUTCMonth() + 1)}-${pad(value.getUTCDate())}`;
    const h = value.getUTCHours();
    const m = value.getUTCMinutes();
    const s = value.getUTCSeconds();
    const ms = value.getUTCMilliseconds();
    if (h === 0 && m === 0 && s === 0 && ms === 0) return date;
    const millis = ms === 0 ? '' : `.${String(ms).padStart(3, '0')}`;
    return `${date} ${pad(h)}:${pad(m)}:${pad(s)}${millis}`;
  }
  if (typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new NeuroDivergentError(
        codes.INVALID_DATA,
        `data: row ${row + 1}: ds ${value} is beyond the integers a JavaScript number holds exactly (±2^53)`,
      );
    }
    return Number(value);
  }
  throw new NeuroDivergentError(
    codes.INVALID_DATA,
    `data: row ${row + 1}: ds must be a Date, an ISO date string or an integer, got ${typeof value}`,
  );
}

const KEYS = new Set(['unique_id', 'ds', 'y']);

/** Decimal number text, as the CSV reader accepts it. */
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?\s*$/i;

/**
 * A value of an exogenous column as a number: numbers, bigints and decimal strings; anything
 * else (a missing field included) reads as NaN. In the data that is an error naming the series,
 * time and column once a model uses the column; in `staticData` and `futrData` every column must
 * be numeric (an error naming the row and column).
 */
function toNumber(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && DECIMAL.test(v)) return Number(v);
  return NaN;
}

/** The fields of records other than `skip` (over all records), as numeric columns. */
function recordColumns(records, skip) {
  const names = new Set();
  for (const r of records) for (const k of Object.keys(r)) if (!skip.has(k)) names.add(k);
  const list = [...names];
  return { names: list, values: list.map((name) => records.map((r) => toNumber(r[name]))) };
}

/** The array-like columns of a columns object other than `skip`, as numbers; each must have `n` values. */
function objectColumns(data, skip, n, source) {
  const names = Object.keys(data).filter((k) => !skip.has(k) && data[k] != null && typeof data[k] === 'object' && 'length' in data[k]);
  for (const name of names) {
    if (data[name].length !== n) {
      throw new NeuroDivergentError(codes.INVALID_DATA, `${source}: column '${name}' has ${data[name].length} values for ${n} rows`);
    }
  }
  return { names, values: names.map((name) => Array.from(data[name], toNumber)) };
}

/** True for an Apache Arrow `Table` (the `apache-arrow` package), recognised by its shape. */
function isArrowTable(data) {
  return Boolean(data) && typeof data.getChild === 'function' && data.schema && Array.isArray(data.schema.fields);
}

/**
 * An Arrow table's columns as plain columns: dictionary and integer ids as strings; `ds` dates
 * and timestamps as `Date`s (zoned timestamps as ISO text with `Z`, so forecasts come back in
 * UTC with the zone), integer `ds` as numbers (refused beyond ±2^53, where a number would move
 * them); other 64-bit integers as numbers.
 */
function arrowColumns(table) {
  const out = {};
  for (const field of table.schema.fields) {
    const vector = table.getChild(field.name);
    const type = String(field.type);
    const temporal = /^(Date|Timestamp)/.test(type);
    if (field.name === 'ds' && temporal) {
      const zoned = Boolean(field.type.timezone);
      out.ds = Array.from(vector, (ms) => {
        if (ms === null) return null;
        const date = ms instanceof Date ? ms : new Date(Number(ms));
        return zoned ? date.toISOString() : date;
      });
    } else if (field.name === 'ds') {
      // Integer time indices stay bigints until checked: above 2^53 a number would move them.
      out.ds = Array.from(vector);
    } else if (field.name === 'unique_id') {
      out.unique_id = Array.from(vector, (v) => (v === null ? null : String(v)));
    } else {
      out[field.name] = Array.from(vector, (v) => (typeof v === 'bigint' ? Number(v) : v));
    }
  }
  for (const key of KEYS) {
    if (!(key in out)) {
      throw new NeuroDivergentError(codes.INVALID_DATA, `data: the Arrow table has no column '${key}'`);
    }
  }
  const nullAt = (name) => out[name].findIndex((v) => v === null || v === undefined);
  for (const name of KEYS) {
    const row = nullAt(name);
    if (row >= 0) {
      throw new NeuroDivergentError(codes.INVALID_DATA, `data: row ${row + 1}: column '${name}' is null`);
    }
  }
  if (!out.y.every((v) => typeof v === 'number')) {
    const row = out.y.findIndex((v) => typeof v !== 'number');
    throw new NeuroDivergentError(
      codes.INVALID_DATA,
      `data: row ${row + 1}: column 'y' must be a number, got ${JSON.stringify(out.y[row])}`,
    );
  }
  return out;
}

/**
 * Forecast columns as an Apache Arrow `Table` (needs the `apache-arrow` package): `unique_id`
 * text, `ds`/`cutoff` typed as the input's were (Int64, DateDay, or millisecond timestamps,
 * zoned UTC when the input's times had a zone), `y` and forecasts Float64.
 */
function arrowTable(columns) {
  let arrow;
  try {
    arrow = require('apache-arrow');
  } catch (e) {
    throw new NeuroDivergentError(
      codes.INVALID_CONFIG,
      `format 'arrow' needs the apache-arrow package (npm install apache-arrow): ${e.message}`,
    );
  }
  const time = (values, ms) => {
    switch (columns.timeType) {
      case 'int':
        return arrow.vectorFromArray(BigInt64Array.from(values, (v) => BigInt(v)), new arrow.Int64());
      case 'date':
        return arrow.vectorFromArray(ms.map((v) => new Date(v)), new arrow.DateDay());
      default:
        return arrow.vectorFromArray(ms, new arrow.TimestampMillisecond(columns.timeType === 'timestamp_utc' ? 'UTC' : null));
    }
  };
  const vectors = {
    unique_id: arrow.vectorFromArray(columns.uniqueId, new arrow.Utf8()),
    ds: time(columns.ds, columns.dsEpochMs),
  };
  if (columns.cutoff) vectors.cutoff = time(columns.cutoff, columns.cutoffEpochMs);
  if (columns.y) vectors.y = arrow.makeVector(Float64Array.from(columns.y));
  columns.models.forEach((name, k) => {
    vectors[name] = arrow.makeVector(Float64Array.from(columns.values[k]));
  });
  return new arrow.Table(vectors);
}

/**
 * Reads records `[{ unique_id, ds, y, ...exogenous }]` or columns `{ unique_id, ds, y, ... }`
 * into `{ ids, ds, y, extra }` with `y` a Float64Array (a Float64Array input is used as is, not
 * copied) and `extra` the other columns as `{ names, values }` (numbers; anything else reads as
 * NaN, an error only when a model uses that column).
 */
function toColumns(data) {
  if (isArrowTable(data)) return toColumns(arrowColumns(data));
  if (Array.isArray(data)) {
    const n = data.length;
    const ids = new Array(n);
    const ds = new Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = data[i];
      if (r === null || typeof r !== 'object') {
        throw new NeuroDivergentError(codes.INVALID_DATA, `data: row ${i + 1} is not an object`);
      }
      for (const key of ['unique_id', 'ds', 'y']) {
        if (!(key in r)) {
          throw new NeuroDivergentError(codes.INVALID_DATA, `data: row ${i + 1} has no '${key}'`);
        }
      }
      if (typeof r.y !== 'number') {
        throw new NeuroDivergentError(
          codes.INVALID_DATA,
          `data: row ${i + 1}: series '${r.unique_id}': column 'y' must be a number, got ${JSON.stringify(r.y)}`,
        );
      }
      ids[i] = String(r.unique_id);
      ds[i] = normalizeDs(r.ds, i);
      y[i] = r.y;
    }
    return { ids, ds, y, extra: recordColumns(data, KEYS) };
  }
  if (data && typeof data === 'object' && 'unique_id' in data && 'ds' in data && 'y' in data) {
    const n = data.y.length;
    if (data.unique_id.length !== n || data.ds.length !== n) {
      throw new NeuroDivergentError(
        codes.INVALID_DATA,
        `data: columns have different lengths: unique_id ${data.unique_id.length}, ds ${data.ds.length}, y ${n}`,
      );
    }
    const ids = Array.from(data.unique_id, String);
    const ds = Array.from(data.ds, normalizeDs);
    const y = data.y instanceof Float64Array ? data.y : Float64Array.from(data.y);
    return { ids, ds, y, extra: objectColumns(data, KEYS, n, 'data') };
  }
  throw new NeuroDivergentError(
    codes.INVALID_DATA,
    'data must be an array of { unique_id, ds, y } records or columns { unique_id: [], ds: [], y: [] }',
  );
}

/**
 * Reads exogenous values keyed by series (`withDs` false: static values) or by series and time
 * (future values), as records or columns, into the native `{ uniqueId, ds, columns }`.
 */
function toKeyed(data, name, withDs) {
  const keys = withDs ? ['unique_id', 'ds'] : ['unique_id'];
  const skip = new Set(keys);
  const shape = `${name} must be records [{ ${keys.join(', ')}, ... }] or columns { ${keys.map((k) => `${k}: []`).join(', ')}, ... }`;
  if (Array.isArray(data)) {
    data.forEach((r, i) => {
      if (r === null || typeof r !== 'object' || !keys.every((k) => k in r)) {
        throw new NeuroDivergentError(codes.INVALID_DATA, `${name}: row ${i + 1} lacks ${keys.join(' or ')}; ${shape}`);
      }
    });
    return {
      uniqueId: data.map((r) => String(r.unique_id)),
      ds: withDs ? data.map((r, i) => normalizeDs(r.ds, i)) : undefined,
      columns: recordColumns(data, skip),
    };
  }
  if (data && typeof data === 'object' && keys.every((k) => k in data)) {
    const n = data.unique_id.length;
    return {
      uniqueId: Array.from(data.unique_id, String),
      ds: withDs ? Array.from(data.ds, normalizeDs) : undefined,
      columns: objectColumns(data, skip, n, name),
    };
  }
  throw new NeuroDivergentError(codes.INVALID_DATA, shape);
}

/** Native forecast columns in the requested public shape. */
function formatForecasts(columns, format) {
  // Interval levels the calibration cannot support, and the like: Node's warning channel
  // (printed on stderr unless the process listens for 'warning').
  for (const warning of columns.warnings || []) {
    process.emitWarning(warning, 'NeuroDivergentWarning');
  }
  if (format === 'columns') {
    const out = { unique_id: columns.uniqueId, ds: columns.ds };
    if (columns.cutoff) out.cutoff = columns.cutoff;
    if (columns.y) out.y = Float64Array.from(columns.y);
    columns.models.forEach((name, k) => {
      out[name] = Float64Array.from(columns.values[k]);
    });
    return out;
  }
  if (format === 'arrow') return arrowTable(columns);
  if (format !== undefined && format !== 'records') {
    throw new NeuroDivergentError(codes.INVALID_CONFIG, `format must be 'records', 'columns' or 'arrow', got '${format}'`);
  }
  const rows = new Array(columns.uniqueId.length);
  for (let i = 0; i < rows.length; i++) {
    const row = { unique_id: columns.uniqueId[i], ds: columns.ds[i] };
    if (columns.cutoff) row.cutoff = columns.cutoff[i];
    if (columns.y) row.y = columns.y[i];
    columns.models.forEach((name, k) => {
      row[name] = columns.values[k][i];
    });
    rows[i] = row;
  }
  return rows;
}

module.exports = { toColumns, toKeyed, formatForecasts };
