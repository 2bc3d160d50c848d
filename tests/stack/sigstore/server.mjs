// The local Sigstore stack: Fulcio, Rekor v1 and a TSA from @sigstore/mock over real HTTP.
//
//   node server.mjs --port PORT --out DIR [--host 127.0.0.1] [--no-tsa] [--fulcio-skew=SECONDS]
//
// --fulcio-skew makes Fulcio's CA issue every certificate as if its clock read the start time
// plus SECONDS (negative: behind), for tests of a client whose clock disagrees with Fulcio's.
//
// Keys are generated at every start and never written. Before listening, the server writes
// DIR/trusted_root.json, DIR/signing_config.json and DIR/trust_config.json, so a client that
// can connect can also load them. Admin endpoints for tests:
//   GET  /__stats         request counts by "METHOD /route" and by "METHOD /route STATUS",
//                         plus what each service issued
//   POST /__reset-stats   zero the counters
//   POST /__faults        {"path": "/api/v1/log/entries", "method": "POST", "status": 503,
//                          "count": 1, "retry_after": "1", "delay_ms": 0}: the next `count`
//                         matching requests get `status` (after `delay_ms`); without `status`
//                         they are only delayed
//   DELETE /__faults      drop pending faults

import mock from '@sigstore/mock';
import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import {
  createFulcio,
  HttpError,
  LEGACY_ROOT_CERT_PATH,
  LEGACY_SIGNING_CERT_PATH,
  SIGNING_CERT_PATH,
  TRUST_BUNDLE_PATH,
} from './lib/fulcio.mjs';
import { createRekor, ENTRIES_PATH, LOG_PATH, PUBLIC_KEY_PATH, RETRIEVE_PATH } from './lib/rekor.mjs';
import { buildSigningConfig, buildTrustConfig, buildTrustedRoot, writeJsonFiles } from './lib/trust.mjs';
import { CERT_CHAIN_PATH, createTsa, TIMESTAMP_PATH } from './lib/tsa.mjs';

const MAX_BODY = 4 * 1024 * 1024;
const UUID_ROUTE = /^\/api\/v1\/log\/entries\/([0-9a-fA-F]{64}|[0-9a-fA-F]{80})$/;

function options() {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: process.env.SIGSTORE_STACK_PORT || '' },
      out: { type: 'string', default: process.env.SIGSTORE_STACK_OUT || '' },
      'no-tsa': { type: 'boolean', default: false },
      'fulcio-skew': { type: 'string', default: '0' },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || !values.out) {
    throw new Error('usage: node server.mjs --port PORT --out DIR [--host H] [--no-tsa] [--fulcio-skew=S]');
  }
  const fulcioSkew = Number(values['fulcio-skew']);
  if (!Number.isFinite(fulcioSkew)) throw new Error('--fulcio-skew needs a number of seconds');
  return { host: values.host, port, out: values.out, withTsa: !values['no-tsa'], fulcioSkew };
}

const newKeyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

async function createServices(baseUrl, fulcioSkew) {
  const ctlog = await mock.initializeCTLog(newKeyPair());
  // The mock CA takes a fixed Date as its clock: without a skew, it reads the real time.
  const caClock = fulcioSkew ? new Date(Date.now() + fulcioSkew * 1000) : undefined;
  const ca = await mock.initializeCA(newKeyPair(), ctlog, caClock);
  const tlogKeys = newKeyPair();
  const tlog = await mock.initializeTLog(baseUrl, tlogKeys);
  const tsa = await mock.initializeTSA(newKeyPair());
  const tlogPublicKey = tlogKeys.publicKey.export({ format: 'der', type: 'spki' });
  return {
    ca,
    ctlog,
    tsaImpl: tsa,
    tlogPublicKey,
    fulcio: await createFulcio({ ca }),
    rekor: createRekor({ tlog, publicKeyDer: tlogPublicKey }),
    tsa: createTsa({ tsa }),
  };
}

function routeOf(method, pathname, s) {
  const post = method === 'POST';
  const get = method === 'GET';
  if (post && pathname === SIGNING_CERT_PATH) return ['fulcio', (r) => s.fulcio.signingCert(r)];
  if (get && pathname === TRUST_BUNDLE_PATH) return ['fulcio', () => s.fulcio.trustBundle()];
  if (post && pathname === LEGACY_SIGNING_CERT_PATH) return ['fulcio', (r) => s.fulcio.legacySigningCert(r)];
  if (get && pathname === LEGACY_ROOT_CERT_PATH) return ['fulcio', () => s.fulcio.legacyRootCert()];
  if (post && pathname === ENTRIES_PATH) return ['rekor', (r) => s.rekor.create(r)];
  if (get && pathname === ENTRIES_PATH) return ['rekor', (r) => s.rekor.getByIndex(r.query)];
  if (post && pathname === RETRIEVE_PATH) return ['rekor', (r) => s.rekor.retrieve(r)];
  if (get && pathname === LOG_PATH) return ['rekor', () => s.rekor.logInfo()];
  if (get && pathname === PUBLIC_KEY_PATH) return ['rekor', () => s.rekor.publicKey()];
  const uuid = get && UUID_ROUTE.exec(pathname);
  if (uuid) return ['rekor', () => s.rekor.getByUuid(uuid[1])];
  if (post && pathname === TIMESTAMP_PATH) return ['tsa', (r) => s.tsa.timestamp(r)];
  if (get && pathname === CERT_CHAIN_PATH) return ['tsa', () => s.tsa.certChain()];
  return undefined;
}

// The route name counted in /__stats: entry UUIDs collapse into one route.
function routeName(method, pathname) {
  return `${method} ${UUID_ROUTE.test(pathname) ? `${ENTRIES_PATH}/{uuid}` : pathname}`;
}

class Admin {
  constructor(services) {
    this.services = services;
    this.faults = [];
    this.reset();
  }

  reset() {
    this.requests = {};
    this.responses = {};
    this.faultsServed = 0;
  }

  count(route, status) {
    this.requests[route] = (this.requests[route] || 0) + 1;
    const key = `${route} ${status}`;
    this.responses[key] = (this.responses[key] || 0) + 1;
  }

  addFault(spec) {
    if (typeof spec.path !== 'string' || !spec.path.startsWith('/')) {
      throw new HttpError(400, 'fault needs "path" starting with "/"');
    }
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new HttpError(400, '"count" must be >= 1');
    if (spec.status !== undefined && !(Number.isInteger(spec.status) && spec.status >= 100)) {
      throw new HttpError(400, '"status" must be an HTTP status code');
    }
    this.faults.push({ ...spec, method: spec.method?.toUpperCase(), remaining: count });
  }

  // Take one use of the first fault matching this request, if any.
  takeFault(method, pathname) {
    const fault = this.faults.find((f) => f.path === pathname && (!f.method || f.method === method));
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }

  stats() {
    const s = this.services;
    return {
      requests: this.requests,
      responses: this.responses,
      fulcio: s.fulcio.stats(),
      rekor: s.rekor.stats(),
      tsa: s.tsa.stats(),
      faults: { served: this.faultsServed, pending: this.faults.map((f) => ({ ...f })) },
    };
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res, result) {
  const headers = { ...(result.headers || {}) };
  let payload;
  if (result.json !== undefined) {
    payload = Buffer.from(JSON.stringify(result.json));
    headers['Content-Type'] = 'application/json';
  } else if (result.body !== undefined) {
    payload = Buffer.from(result.body);
    headers['Content-Type'] = result.type;
  } else {
    payload = Buffer.from(result.text ?? '');
    headers['Content-Type'] = result.type || 'text/plain';
  }
  headers['Content-Length'] = payload.length;
  res.writeHead(result.status, headers);
  res.end(payload);
}

function errorResult(err) {
  const status = err instanceof HttpError ? err.status : 500;
  return { status, json: { code: status, message: err.message } };
}

async function handleAdmin(req, url, admin) {
  const body = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
  if (req.method === 'GET' && url.pathname === '/__stats') return { status: 200, json: admin.stats() };
  if (req.method === 'POST' && url.pathname === '/__reset-stats') {
    admin.reset();
    return { status: 200, json: admin.stats() };
  }
  if (req.method === 'POST' && url.pathname === '/__faults') {
    let spec;
    try {
      spec = JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'fault must be JSON');
    }
    for (const one of Array.isArray(spec) ? spec : [spec]) admin.addFault(one);
    return { status: 201, json: { pending: admin.faults.length } };
  }
  if (req.method === 'DELETE' && url.pathname === '/__faults') {
    admin.faults = [];
    return { status: 200, json: { pending: 0 } };
  }
  throw new HttpError(404, `no admin route ${req.method} ${url.pathname}`);
}

async function handleService(req, url, services, admin) {
  const route = routeName(req.method, url.pathname);
  const fault = admin.takeFault(req.method, url.pathname);
  let result;
  try {
    const body = await readBody(req);
    if (fault?.delay_ms) await new Promise((r) => setTimeout(r, fault.delay_ms));
    const found = routeOf(req.method, url.pathname, services);
    if (fault?.status) {
      admin.faultsServed += 1;
      const headers = fault.retry_after !== undefined ? { 'Retry-After': String(fault.retry_after) } : {};
      const message = fault.message || `fault injected by the test stack`;
      result = { status: fault.status, json: { code: fault.status, message }, headers };
    } else if (!found) {
      result = { status: 404, json: { code: 404, message: `no route ${req.method} ${url.pathname}` } };
    } else {
      result = await found[1]({ headers: req.headers, body, query: url.searchParams });
    }
  } catch (err) {
    result = errorResult(err);
  }
  admin.count(route, result.status);
  return result;
}

async function main() {
  const started = performance.now();
  const opts = options();
  const baseUrl = `http://${opts.host}:${opts.port}`;
  // A minute of slack: the roots' validity must cover every certificate issued from now on.
  const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000).toISOString().replace('.000Z', 'Z');
  const services = await createServices(baseUrl, opts.fulcioSkew);
  const trustedRoot = buildTrustedRoot({
    baseUrl,
    start,
    ca: services.ca,
    ctlog: services.ctlog,
    tlogPublicKey: services.tlogPublicKey,
    tsa: services.tsaImpl,
  });
  const signingConfig = buildSigningConfig({ baseUrl, start, withTsa: opts.withTsa });
  writeJsonFiles(opts.out, {
    'trusted_root.json': trustedRoot,
    'signing_config.json': signingConfig,
    'trust_config.json': buildTrustConfig(trustedRoot, signingConfig),
  });
  const admin = new Admin(services);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, baseUrl);
    const handle = url.pathname.startsWith('/__')
      ? handleAdmin(req, url, admin).catch(errorResult)
      : handleService(req, url, services, admin);
    // A client that went away must not take the server down with an unhandled rejection.
    handle.then((result) => send(res, result)).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 30_000;
  server.listen(opts.port, opts.host, () => {
    const ms = Math.round(performance.now() - started);
    console.log(`sigstore stack listening on ${baseUrl} (tsa: ${opts.withTsa}) in ${ms} ms`);
  });
  // Nothing to flush: state lives in memory only.
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
