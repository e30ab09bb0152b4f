'use strict';
// Verifications per second through the installed @chainverify/client: the shared
// channel of verifyChain() against a new channel per call (its own connection,
// closed after the call), interleaved round by round, one call at a time, against
// the same chainverifyd: once over plaintext, once over TLS. Run by
// bench/clients/run.sh from a project where the tarball is installed.
//
// Usage: node node_bench.js CHAIN_PEM HOST SECONDS PLAINTEXT_TARGET TLS_TARGET TLS_CA_PEM

const crypto = require('node:crypto');
const fs = require('node:fs');

const client = require('@chainverify/client');

const ROUNDS = 10;

function readChain(file) {
  const end = '-----END CERTIFICATE-----';
  return fs.readFileSync(file, 'utf8').split(end).filter((b) => b.includes('BEGIN'))
    .map((b) => new crypto.X509Certificate(b + end).raw);
}

// { per_call, shared }: verifications/s.
async function measure(ders, host, seconds, target, credentials) {
  const shared = () => client.verifyChain(ders, { host, target, credentials });
  const perCall = () => new Promise((resolve, reject) => {
    const c = new client.proto.ChainVerifier(target, credentials, { 'grpc.use_local_subchannel_pool': 1 });
    const request = { certificates: ders, peer_name: host, usage: 'SERVER_AUTH' };
    c.Verify(request, { deadline: new Date(Date.now() + 10000) }, (err, response) => {
      c.close();
      if (err) reject(err); else resolve(response);
    });
  });

  const variants = { per_call: perCall, shared };
  for (const [name, fn] of Object.entries(variants)) { // warm-up (JIT), and both must say TRUSTED
    for (let i = 0; i < 100; i++) {
      const v = await fn();
      if (v.verdict !== 'TRUSTED') throw new Error(`node ${name}: expected TRUSTED, got ${JSON.stringify(v)}`);
    }
  }
  const calls = { per_call: 0, shared: 0 };
  const spent = { per_call: 0, shared: 0 };
  const sliceMs = (seconds * 1000) / (2 * ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, fn] of Object.entries(variants)) {
      const start = performance.now();
      while (performance.now() - start < sliceMs) {
        await fn();
        calls[name] += 1;
      }
      spent[name] += performance.now() - start;
    }
  }
  return { per_call: calls.per_call / (spent.per_call / 1000), shared: calls.shared / (spent.shared / 1000) };
}

async function main() {
  const [chainPem, host, seconds, plainTarget, tlsTarget, caPem] = process.argv.slice(2);
  const ders = readChain(chainPem);
  const configs = [
    ['plaintext', plainTarget, client.grpc.credentials.createInsecure()],
    ['tls', tlsTarget, client.grpc.credentials.createSsl(fs.readFileSync(caPem))],
  ];
  const rates = {};
  for (const [transport, target, credentials] of configs) {
    const r = await measure(ders, host, Number(seconds), target, credentials);
    rates[transport] = r;
    console.log(`node   ${transport.padEnd(9)} per-call ${r.per_call.toFixed(0).padStart(7)}/s  ` +
      `shared ${r.shared.toFixed(0).padStart(7)}/s  shared/per-call ${(r.shared / r.per_call).toFixed(2)}`);
  }
  console.log(`ratio node_shared_channel_vs_per_call = ${(rates.tls.shared / rates.tls.per_call).toFixed(2)} (target >= 3)`);
  client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
