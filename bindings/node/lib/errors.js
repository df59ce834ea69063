'use strict';
/**
 * Errors of the neuro-divergent package: every failure is a NeuroDivergentError with a stable
 * `code`; a cancelled call is also named 'AbortError'.
 */

/** Stable error codes. */
const codes = Object.freeze({
  INVALID_DATA: 'ND_INVALID_DATA',
  INVALID_CONFIG: 'ND_INVALID_CONFIG',
  NOT_FITTED: 'ND_NOT_FITTED',
  BUSY: 'ND_BUSY',
  ABORTED: 'ND_ABORTED',
  CHECKPOINT: 'ND_CHECKPOINT',
  IO: 'ND_IO',
  TRAIN: 'ND_TRAIN',
  STORE: 'ND_STORE',
  NOT_FOUND: 'ND_NOT_FOUND',
  INTERNAL: 'ND_INTERNAL',
});

class NeuroDivergentError extends Error {
  /**
   * @param {string} code one of `codes`
   * @param {string} message what went wrong
   */
  constructor(code, message) {
    super(message);
    this.code = code;
    this.name = code === codes.ABORTED ? 'AbortError' : 'NeuroDivergentError';
  }
}

/** Turns a native `{ code, message }` failure into an error. */
function fromFailure(failure) {
  return new NeuroDivergentError(failure.code, failure.message);
}

/** Turns an error thrown by a native constructor ("ND_CODE: message") into a typed error. */
function fromNative(error) {
  const match = /^(ND_[A-Z_]+): ([\s\S]*)$/.exec(error && error.message);
  return match ? new NeuroDivergentError(match[1], match[2]) : error;
}

module.exports = { codes, NeuroDivergentError, fromFailure, fromNative };
