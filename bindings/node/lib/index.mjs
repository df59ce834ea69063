// ESM entry: re-exports the CommonJS module, so both entry points share one native instance.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const nd = require('./index.js');

export const { NeuralForecaster, ModelStore, NeuroDivergentError, codes, metrics, setThreads, systemInfo, BaseModel, AutoModel } = nd;
export * from './models.mjs';
export default nd;
