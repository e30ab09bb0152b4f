'use strict';
// Node client for chainverify: finish a TLS handshake without verifying it, upload the
// chain the peer sent, and let the service decide (proto/chainverify/v1/verifier.proto).
//
//   const { verifyChain, connect } = require('@chainverify/client');
//   const socket = await connect({ host: 'api.example.com', port: 443 });  // TRUSTED or throws
//   const verdict = await verifyChain([leafDer, interDer], { host: 'api.example.com' });

const path = require('path');
const tls = require('tls');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_DIR = path.resolve(__dirname, '..', '..', 'proto');
const PROTO_FILE = path.join(PROTO_DIR, 'chainverify', 'v1', 'verifier.proto');
const DEFAULT_TARGET = '127.0.0.1:50051';
const DEFAULT_DEADLINE_MS = 10000;

const packageDefinition = protoLoader.loadSync(PROTO_FILE, {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR, '/usr/include'],
});
const proto = grpc.loadPackageDefinition(packageDefinition).chainverify.v1;

// One channel per (target, credentials): gRPC channels are meant to be shared.
const clients = new Map();
// Plaintext: the server's default, allowed on loopback only. Pass `credentials`
// (grpc.credentials.createSsl(...)) for a TLS / mutual-TLS server.
const insecure = grpc.credentials.createInsecure();

function getClient(target, credentials) {
  const creds = credentials || insecure;
  let perTarget = clients.get(target);
  if (!perTarget) {
    perTarget = new Map();
    clients.set(target, perTarget);
  }
  let client = perTarget.get(creds);
  if (!client) {
    client = new proto.ChainVerifier(target, creds);
    perTarget.set(creds, client);
  }
  return client;
}

// Closes every cached channel (lets the process exit promptly; tests use it).
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
    credentials,
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

// Opens a TLS connection whose trust decision is made by chainverify.
// Options: host, port, servername (defaults to host when it is a DNS name), peerName
// (the name to verify, defaults to host), plus
// verifyChain's options (usage, policy, target, credentials, deadlineMs, labels,
// requestId) and tlsOptions (extra tls.connect options). Resolves with the connected
// socket when TRUSTED (socket.chainverifyVerdict holds the response); otherwise the
// socket is destroyed and the promise rejects.
function connect(options = {}) {
  const { host, port, servername, peerName: peerNameOption, tlsOptions, ...verifyOptions } = options;
  const peerName = peerNameOption !== undefined ? peerNameOption : host;
  return new Promise((resolve, reject) => {
    const connectOptions = {
      ...(tlsOptions || {}),
      host,
      port,
      rejectUnauthorized: false,
      requestOCSP: true,
    };
    const sni = servername !== undefined ? servername : (host && !require('net').isIP(host) ? host : undefined);
    if (sni) connectOptions.servername = sni;
    let stapled = null;
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      reject(err);
    };
    const socket = tls.connect(connectOptions);
    socket.on('OCSPResponse', (response) => {
      if (response && response.length) stapled = response;
    });
    socket.once('error', fail);
    socket.once('secureConnect', () => {
      let ders;
      try {
        ders = peerChainDer(socket);
      } catch (e) {
        fail(e);
        return;
      }
      if (ders.length === 0) {
        fail(new Error('chainverify: the peer sent no certificate'));
        return;
      }
      verifyChain(ders, { ...verifyOptions, host: peerName, stapledOcsp: stapled || undefined }).then(
        (verdict) => {
          if (settled) return;
          if (verdict.verdict === 'TRUSTED') {
            settled = true;
            socket.removeListener('error', fail);
            socket.chainverifyVerdict = verdict;
            socket.chainverifyStapledOcsp = stapled;
            resolve(socket);
          } else {
            fail(rejectedError(verdict));
          }
        },
        fail);
    });
  });
}

module.exports = { verifyChain, connect, close, peerChainDer, proto, grpc };
