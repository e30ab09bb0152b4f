'use strict';
// Node client for chainverify: finish a TLS handshake without verifying it, upload the
// chain the peer sent, and let the service decide (proto/chainverify/v1/verifier.proto).
//
//   const chainverify = require('@chainverify/client');
//   const agent = new chainverify.ChainverifyAgent({ target: '127.0.0.1:50051' });
//   https.get('https://api.example.com/', { agent });            // also axios: { httpsAgent: agent }
//   fetch('https://api.example.com/', { dispatcher: chainverify.fetchDispatcher() });
//   const socket = await chainverify.connect({ host: 'api.example.com', port: 443 });
//   const verdict = await chainverify.verifyChain([leafDer, interDer], { host: 'api.example.com' });
//
// Every path fails closed: a REJECTED verdict or no verdict (service down) destroys the
// connection and surfaces an error; nothing is sent to the peer before the verdict.

const https = require('node:https');
const net = require('node:net');
const path = require('node:path');
const tls = require('node:tls');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// verifier.proto and google/protobuf/timestamp.proto ship in the package (copied
// there by `npm pack`, scripts/copy-protos.js).
const PROTO_DIR = path.join(__dirname, 'proto');
const DEFAULT_TARGET = '127.0.0.1:50051';
const DEFAULT_DEADLINE_MS = 10000;

const packageDefinition = protoLoader.loadSync(path.join(PROTO_DIR, 'chainverify', 'v1', 'verifier.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
});
const proto = grpc.loadPackageDefinition(packageDefinition).chainverify.v1;

// One client (channel, one HTTP/2 connection) per (target, credentials), shared by
// every call. Its own subchannel pool, so that dropping it (see verifyChain) really
// starts a new connection instead of picking grpc-js's shared one, still in backoff.
const CHANNEL_OPTIONS = { 'grpc.use_local_subchannel_pool': 1 };
const clients = new Map();
// Plaintext: the server's default, allowed on loopback only. Pass `credentials`
// (grpc.credentials.createSsl(...)) for a TLS / mutual-TLS server.
const insecure = grpc.credentials.createInsecure();

function getClient(target, credentials) {
  let perTarget = clients.get(target);
  if (!perTarget) {
    perTarget = new Map();
    clients.set(target, perTarget);
  }
  let client = perTarget.get(credentials);
  if (!client) {
    client = new proto.ChainVerifier(target, credentials, CHANNEL_OPTIONS);
    perTarget.set(credentials, client);
  }
  return client;
}

// After UNAVAILABLE: a channel that failed to connect waits out gRPC's reconnect
// backoff (up to 120 s) before trying again, so a service that is back would stay
// unused. The next call opens a new channel and connects at once.
function dropClient(target, credentials, client) {
  const perTarget = clients.get(target);
  if (perTarget && perTarget.get(credentials) === client) {
    perTarget.delete(credentials);
    client.close(); // calls already on a connection finish; queued ones fail UNAVAILABLE
  }
}

// Closes every shared channel (lets the process exit promptly).
function close() {
  for (const perTarget of clients.values()) {
    for (const client of perTarget.values()) client.close();
  }
  clients.clear();
}

function toBuffer(der, i) {
  if (Buffer.isBuffer(der)) return der;
  if (der instanceof Uint8Array) return Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  if (der && Buffer.isBuffer(der.raw)) return der.raw; // crypto.X509Certificate or getPeerCertificate()
  throw new TypeError(`certificate ${i}: expected DER bytes (Buffer/Uint8Array) or an object with .raw`);
}

// Verifies `ders` (DER certificates, leaf first, as the peer sent them).
// Resolves with the VerifyResponse (both TRUSTED and REJECTED); rejects with the gRPC
// error (err.code is a grpc.status value, e.g. 14 UNAVAILABLE) when no verdict was
// reached.
function verifyChain(ders, options = {}) {
  const {
    host,
    usage,
    policy,
    target = DEFAULT_TARGET,
    credentials = insecure,
    deadlineMs = DEFAULT_DEADLINE_MS,
    stapledOcsp,
    labels,
    requestId,
  } = options;
  return new Promise((resolve, reject) => {
    let request;
    try {
      if (!Array.isArray(ders) || ders.length === 0) {
        throw new TypeError('verifyChain: at least one DER certificate is required');
      }
      request = {
        certificates: ders.map(toBuffer),
        peer_name: host || '',
        usage: usage || 'SERVER_AUTH',
        policy: policy || '',
        request_id: requestId || '',
        labels: labels || {},
      };
      if (stapledOcsp && stapledOcsp.length) request.stapled_ocsp_response = toBuffer(stapledOcsp, 'ocsp');
    } catch (e) {
      reject(e);
      return;
    }
    const client = getClient(target, credentials);
    const deadline = new Date(Date.now() + deadlineMs);
    client.Verify(request, { deadline }, (err, response) => {
      if (err) {
        if (err.code === grpc.status.UNAVAILABLE) dropClient(target, credentials, client);
        err.message = `chainverify ${target}: ${err.message}`;
        reject(err);
      } else {
        resolve(response);
      }
    });
  });
}

// The chain exactly as the peer sent it, leaf first, as DER buffers.
function peerChainDer(socket) {
  const ders = [];
  let cert = socket.getPeerCertificate(true);
  const seen = new Set();
  while (cert && cert.raw && !seen.has(cert)) {
    seen.add(cert);
    ders.push(cert.raw);
    const next = cert.issuerCertificate;
    if (!next || next === cert || next.raw.equals(cert.raw)) break; // self-reference ends the chain
    cert = next;
  }
  return ders;
}

function rejectedError(verdict) {
  const first = (verdict.errors || []).find((e) => e.severity === 'ERROR') || (verdict.errors || [])[0];
  const err = new Error(
    `chainverify: ${verdict.verdict} ${verdict.status}` + (first ? ` (${first.id})` : '') +
      (verdict.decision_id ? ` decision ${verdict.decision_id}` : ''));
  err.code = 'CHAINVERIFY_REJECTED';
  err.verdict = verdict;
  return err;
}

// The verifyChain options a connection passes on (host comes from the connection).
function pickVerifyOptions(options) {
  const { usage, policy, target, credentials, deadlineMs, labels, requestId } = options;
  return { usage, policy, target, credentials, deadlineMs, labels, requestId };
}

// tls.connect options that finish the handshake unverified and ask for a stapled
// OCSP response: the service decides.
function unverifiedTlsOptions(options) {
  return { ...options, rejectUnauthorized: false, requestOCSP: true };
}

// The name tls.connect would check: servername, else host.
function peerNameOf(options) {
  const name = options.servername || options.host || options.hostname || 'localhost';
  return name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
}

// Resolves with the TRUSTED verdict once `socket` (from tls.connect with
// unverifiedTlsOptions) has finished its handshake and the service has answered;
// then socket.chainverifyVerdict holds the VerifyResponse and
// socket.chainverifyStapledOcsp the stapled OCSP response, if any. Otherwise destroys
// the socket and rejects: CHAINVERIFY_REJECTED with err.verdict, the gRPC error, or
// the connection's own error.
function verifyTlsSocket(socket, peerName, verifyOptions) {
  return new Promise((resolve, reject) => {
    let stapled = null;
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };
    const closed = () => fail(new Error(`chainverify: the connection to ${peerName} closed before a verdict`));
    socket.on('OCSPResponse', (response) => {
      if (response && response.length) stapled = response;
    });
    socket.once('error', fail);
    socket.once('close', closed);
    socket.once('secureConnect', () => {
      const ders = peerChainDer(socket);
      if (ders.length === 0) {
        fail(new Error('chainverify: the peer sent no certificate'));
        return;
      }
      verifyChain(ders, { ...verifyOptions, host: peerName, stapledOcsp: stapled || undefined }).then(
        (verdict) => {
          if (settled) return;
          if (verdict.verdict !== 'TRUSTED') {
            fail(rejectedError(verdict));
            return;
          }
          settled = true;
          socket.removeListener('error', fail);
          socket.removeListener('close', closed);
          socket.chainverifyVerdict = verdict;
          socket.chainverifyStapledOcsp = stapled;
          resolve(verdict);
        },
        fail);
    });
  });
}

// Opens a TLS connection whose trust decision is made by chainverify.
// Options: host, port, servername (defaults to host when it is a DNS name), peerName
// (the name to verify, defaults to host), plus
// verifyChain's options (usage, policy, target, credentials, deadlineMs, labels,
// requestId) and tlsOptions (extra tls.connect options). Resolves with the connected
// socket when TRUSTED (socket.chainverifyVerdict holds the response); otherwise the
// socket is destroyed and the promise rejects.
async function connect(options = {}) {
  const { host, port, servername, peerName, tlsOptions } = options;
  const connectOptions = unverifiedTlsOptions({ ...(tlsOptions || {}), host, port });
  const sni = servername !== undefined ? servername : (host && !net.isIP(host) ? host : undefined);
  if (sni) connectOptions.servername = sni;
  const socket = tls.connect(connectOptions);
  await verifyTlsSocket(socket, peerName !== undefined ? peerName : host, pickVerifyOptions(options));
  return socket;
}

// An https.Agent whose connections are verified by chainverify before the request
// is written: https.request / https.get ({ agent }), axios ({ httpsAgent }), and any
// client that takes an agent. Options: verifyChain's (target, credentials, policy,
// usage, deadlineMs, labels, requestId) plus https.Agent's (keepAlive, maxSockets, ...).
// The name verified is the request's servername, else its host. TLS session
// resumption is off (maxCachedSessions 0): a resumed session carries no certificate
// to verify, so every new connection does a full handshake and gets a verdict.
// Kept-alive connections are reused without asking again.
class ChainverifyAgent extends https.Agent {
  constructor(options = {}) {
    const { usage, policy, target, credentials, deadlineMs, labels, requestId, ...agentOptions } = options;
    super({ maxCachedSessions: 0, ...agentOptions });
    this.chainverifyOptions = { usage, policy, target, credentials, deadlineMs, labels, requestId };
  }

  // http.Agent waits for `callback` when createConnection returns nothing: the
  // request gets the socket only after the verdict.
  createConnection(options, callback) {
    const socket = super.createConnection(unverifiedTlsOptions(options));
    verifyTlsSocket(socket, peerNameOf(options), this.chainverifyOptions).then(
      () => callback(null, socket), callback);
  }
}

// Node's built-in fetch is undici, bundled inside Node and not requirable; its
// Agent class is reachable through the global dispatcher undici keeps under this
// symbol (the cross-version contract the npm `undici` package uses too). Loading
// one of its lazy globals (Headers) makes Node load undici and install that Agent.
const UNDICI_GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
let UndiciAgent = null;

function undiciAgentClass() {
  if (UndiciAgent) return UndiciAgent;
  if (globalThis[UNDICI_GLOBAL_DISPATCHER] === undefined) void globalThis.Headers;
  const dispatcher = globalThis[UNDICI_GLOBAL_DISPATCHER];
  const Agent = dispatcher && dispatcher.constructor;
  if (typeof Agent !== 'function' || Agent.name !== 'Agent') {
    throw new Error('chainverify: cannot find Node\'s bundled undici Agent (the global fetch dispatcher is ' +
      `${Agent ? Agent.name : 'missing'}); call fetchDispatcher() before replacing it`);
  }
  UndiciAgent = Agent;
  return Agent;
}

// A dispatcher for the built-in fetch: fetch(url, { dispatcher }). Its connections
// are verified by chainverify before the request is written; a rejection makes fetch
// reject with TypeError('fetch failed') whose `cause` is the chainverify error.
// Options: verifyChain's, plus tlsOptions (extra tls.connect options). HTTP/1.1 only;
// plain http: URLs connect as usual.
function fetchDispatcher(options = {}) {
  const Agent = undiciAgentClass();
  const verifyOptions = pickVerifyOptions(options);
  const tlsOptions = options.tlsOptions || {};
  const connector = (opts, callback) => {
    const hostname = peerNameOf({ host: opts.hostname });
    if (opts.protocol === 'http:') { // no TLS, nothing to verify
      const socket = net.connect({ host: hostname, port: opts.port || 80 });
      socket.setNoDelay(true);
      socket.once('error', callback);
      socket.once('connect', () => {
        socket.removeListener('error', callback);
        callback(null, socket);
      });
      return;
    }
    const servername = opts.servername || (net.isIP(hostname) ? undefined : hostname);
    const socket = tls.connect(unverifiedTlsOptions({
      ...tlsOptions,
      host: hostname,
      port: opts.port || 443,
      servername,
      ALPNProtocols: ['http/1.1'],
    }));
    socket.setNoDelay(true);
    verifyTlsSocket(socket, servername || hostname, verifyOptions).then(() => callback(null, socket), callback);
  };
  return new Agent({ connect: connector });
}

// Makes every fetch() in this process use fetchDispatcher(options); returns it.
function setGlobalFetchDispatcher(options = {}) {
  const dispatcher = fetchDispatcher(options);
  globalThis[UNDICI_GLOBAL_DISPATCHER] = dispatcher;
  return dispatcher;
}

module.exports = {
  ChainverifyAgent,
  close,
  connect,
  fetchDispatcher,
  grpc,
  peerChainDer,
  proto,
  setGlobalFetchDispatcher,
  verifyChain,
  verifyTlsSocket,
};
