// A forecasting node in Node.js: the same forecast endpoint as `neuro-divergent serve`, over the
// same model store, so that one load balancer can mix Rust and Node nodes.
//
//   node dist/server.js --store postgres://USER@HOST:PORT/DB --bind 127.0.0.1:8090 [--refresh 2]
//
// Routes: POST /v1/models/{name}/forecast (JSON body: data, version or alias, level, futr_data,
// static_data, format; the answer names the version in `x-model-version` and in the body),
// GET /v1/models, GET /v1/models/{name}, GET /healthz, GET /readyz. Names and aliases are
// resolved again every --refresh seconds, so an alias move is served within that time; the new
// version is loaded before requests switch to it. A forecaster answers one call at a time, so
// the requests for one version queue behind each other on this node.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  codes,
  ModelStore,
  NeuralForecaster,
  NeuroDivergentError,
  type ForecastRecord,
  type PredictOptions,
} from 'neuro-divergent';

interface Options {
  store: string;
  host: string;
  port: number;
  refreshMs: number;
  maxBodyBytes: number;
}

function parseArgs(argv: string[]): Options {
  const value = (flag: string, fallback: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
  };
  const bind = value('--bind', '127.0.0.1:8090');
  const colon = bind.lastIndexOf(':');
  const port = Number(bind.slice(colon + 1));
  const refresh = Number(value('--refresh', '2'));
  const maxBodyMb = Number(value('--max-body-mb', '16'));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) usage(`--bind must be HOST:PORT, got '${bind}'`);
  if (!(refresh > 0)) usage(`--refresh must be a positive number of seconds, got '${value('--refresh', '')}'`);
  if (!(maxBodyMb > 0)) usage(`--max-body-mb must be positive`);
  return {
    store: value('--store', 'sqlite:models.db'),
    host: bind.slice(0, colon),
    port,
    refreshMs: refresh * 1000,
    maxBodyBytes: maxBodyMb * (1 << 20),
  };
}

function usage(message: string): never {
  console.error(`error: ${message}`);
  process.exit(2);
}

/** An error answered to the client. */
class HttpError extends Error {
  constructor(readonly status: number, readonly kind: string, message: string) {
    super(message);
  }
}

/** The status of a library error, as `neuro-divergent serve` answers it. */
function statusOf(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof NeuroDivergentError) {
    switch (error.code) {
      case codes.INVALID_DATA:
      case codes.INVALID_CONFIG:
        return new HttpError(400, 'bad_request', error.message);
      case codes.NOT_FOUND:
        return new HttpError(404, 'not_found', error.message);
      case codes.STORE:
        if (/invalid (model name|alias|tag)/.test(error.message)) return new HttpError(400, 'bad_request', error.message);
        if (/ is corrupt/.test(error.message)) return new HttpError(500, 'internal', error.message);
        return new HttpError(503, 'store_unavailable', error.message);
      default:
        return new HttpError(500, 'internal', error.message);
    }
  }
  return new HttpError(500, 'internal', String(error));
}

/** A loaded version and the queue of calls on it. */
interface Loaded {
  forecaster: NeuralForecaster;
  version: number;
  queue: Promise<unknown>;
}

/** The versions this node serves and the references that point to them. */
class Models {
  private readonly loaded = new Map<string, Promise<Loaded>>();
  private readonly resolved = new Map<string, number>();

  constructor(readonly store: ModelStore) {}

  /** The version `reference` (NAME, NAME@VERSION, NAME@ALIAS) names, loaded. */
  async get(reference: string): Promise<Loaded> {
    const [name, selector] = reference.split('@');
    if (selector !== undefined && /^\d+$/.test(selector)) return this.load(name, Number(selector));
    const known = this.resolved.get(reference);
    if (known !== undefined) return this.load(name, known);
    const version = (await this.store.show(reference)).version;
    const loaded = await this.load(name, version);
    this.resolved.set(reference, version);
    return loaded;
  }

  /** Resolves every tracked reference again; a changed one switches once its version loaded. */
  async refresh(): Promise<void> {
    for (const [reference, version] of this.resolved) {
      try {
        const now = (await this.store.show(reference)).version;
        if (now !== version) {
          await this.load(reference.split('@')[0], now);
          this.resolved.set(reference, now);
        }
      } catch {
        // The store is unreachable or the alias gone: keep serving the version we have.
      }
    }
  }

  private load(name: string, version: number): Promise<Loaded> {
    const key = `${name}@${version}`;
    let loading = this.loaded.get(key);
    if (!loading) {
      loading = NeuralForecaster.loadFromStore(this.store, key).then((forecaster) => ({
        forecaster,
        version,
        queue: Promise.resolve(),
      }));
      loading.catch(() => this.loaded.delete(key));
      this.loaded.set(key, loading);
    }
    return loading;
  }
}

/** Runs `work` on `loaded`'s forecaster after the calls queued before it. */
function queued<T>(loaded: Loaded, work: () => Promise<T>): Promise<T> {
  const result = loaded.queue.then(work, work);
  loaded.queue = result.catch(() => undefined);
  return result;
}

const FIELDS = new Set(['data', 'version', 'alias', 'level', 'futr_data', 'static_data', 'format']);

/** The model reference and predict options of a forecast request body. */
function parseRequest(name: string, body: string): { reference: string; options: PredictOptions } {
  let request: unknown = {};
  if (body.trim() !== '') {
    try {
      request = JSON.parse(body);
    } catch (e) {
      throw new HttpError(400, 'bad_request', `the request body is not valid: ${(e as Error).message}`);
    }
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new HttpError(400, 'bad_request', 'the request body must be a JSON object such as {"data": [...]}');
  }
  const r = request as Record<string, unknown>;
  const unknown = Object.keys(r).find((k) => !FIELDS.has(k));
  if (unknown !== undefined) throw new HttpError(400, 'bad_request', `the request body is not valid: unknown field \`${unknown}\``);
  if (r.version !== undefined && r.alias !== undefined) {
    throw new HttpError(400, 'bad_request', "give either 'version' or 'alias', not both");
  }
  if (r.version !== undefined && !Number.isInteger(r.version)) throw new HttpError(400, 'bad_request', "'version' must be an integer");
  if (r.alias !== undefined && typeof r.alias !== 'string') throw new HttpError(400, 'bad_request', "'alias' must be a string");
  if (r.format !== undefined && r.format !== 'records' && r.format !== 'columns') {
    throw new HttpError(400, 'bad_request', "'format' must be 'records' or 'columns'");
  }
  if (r.level !== undefined && !(Array.isArray(r.level) && r.level.every((l) => typeof l === 'number'))) {
    throw new HttpError(400, 'bad_request', "'level' must be an array of numbers");
  }
  const reference = r.version !== undefined ? `${name}@${r.version}` : r.alias !== undefined ? `${name}@${r.alias}` : name;
  const options: PredictOptions = {
    data: r.data as PredictOptions['data'],
    futrData: r.futr_data as PredictOptions['futrData'],
    staticData: r.static_data as PredictOptions['staticData'],
    level: r.level as number[] | undefined,
    format: (r.format as 'records' | 'columns' | undefined) ?? 'records',
  };
  return { reference, options };
}

/** The forecasts as CSV: `unique_id,ds,<models>`. */
function toCsv(records: ForecastRecord[]): string {
  if (records.length === 0) return 'unique_id,ds\n';
  const columns = Object.keys(records[0]);
  const lines = records.map((row) => columns.map((c) => String(row[c])).join(','));
  return `${columns.join(',')}\n${lines.join('\n')}\n`;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped, so that the answer still reaches the client.
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > limit) {
        reject(new HttpError(413, 'too_large', `the request body is larger than this server takes (${limit} bytes)`));
      } else {
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/csv' : 'application/json';
  res.writeHead(status, { 'content-type': type, ...headers });
  res.end(text);
}

async function route(models: Models, options: Options, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://node').pathname;
  const forecast = /^\/v1\/models\/([^/]+)\/forecast$/.exec(path);
  const model = /^\/v1\/models\/([^/]+)$/.exec(path);
  if (forecast && req.method === 'POST') {
    const name = decodeURIComponent(forecast[1]);
    const { reference, options: predict } = parseRequest(name, await readBody(req, options.maxBodyBytes));
    const loaded = await models.get(reference);
    const forecasts = await queued(loaded, () => loaded.forecaster.predict(predict as PredictOptions & { format?: 'records' }));
    const headers = { 'x-model-version': `${name}@${loaded.version}` };
    const accept = req.headers.accept ?? '';
    if (accept.includes('text/csv') && !accept.includes('application/json') && predict.format === 'records') {
      send(res, 200, toCsv(forecasts), headers);
    } else {
      send(res, 200, { model: name, version: loaded.version, forecasts }, headers);
    }
  } else if (path === '/v1/models' && req.method === 'GET') {
    send(res, 200, { versions: await models.store.list() });
  } else if (model && req.method === 'GET') {
    const versions = await models.store.list(decodeURIComponent(model[1]));
    if (versions.length === 0) throw new HttpError(404, 'not_found', `no model named '${decodeURIComponent(model[1])}'`);
    send(res, 200, { name: decodeURIComponent(model[1]), versions });
  } else if ((path === '/healthz' || path === '/readyz') && req.method === 'GET') {
    send(res, 200, { status: 'ok' });
  } else {
    throw new HttpError(404, 'not_found', `no route ${req.method} ${path}`);
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  let store: ModelStore;
  try {
    store = await ModelStore.open(options.store);
  } catch (e) {
    usage((e as Error).message);
  }
  const models = new Models(store);
  const refresh = setInterval(() => void models.refresh(), options.refreshMs);
  const server = createServer((req, res) => {
    route(models, options, req, res).catch((error: unknown) => {
      const e = statusOf(error);
      const headers: Record<string, string> = e.status === 503 ? { 'retry-after': '1' } : {};
      if (!res.headersSent) send(res, e.status, { error: { kind: e.kind, message: e.message } }, headers);
    });
  });
  server.on('error', (e) => usage(`cannot listen on ${options.host}:${options.port}: ${e.message}`));
  server.listen(options.port, options.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    console.error(`serving ${options.store.replace(/:[^:@/]*@/, '@')} on http://${options.host}:${port} (node)`);
  });
  const stop = (): void => {
    clearInterval(refresh);
    server.close(() => void store.close().finally(() => process.exit(0)));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
