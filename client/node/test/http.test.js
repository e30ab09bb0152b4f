'use strict';
// HTTP clients through the installed package against the real chainverifyd and
// `openssl s_server` (helpers.js): https.get and axios with ChainverifyAgent, the
// built-in fetch with fetchDispatcher(), one shared gRPC connection, the TypeScript
// declarations. Run by run_tests.sh.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { X509Certificate } = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const path = require('node:path');

const axios = require('axios');
const client = require('@chainverify/client');
const { CountingForwarder, freePort, startAll } = require('./helpers');

const TRUSTED_CHAIN = ['CN=localhost', 'CN=Node Test Intermediate', 'CN=Node Test Root'];

let env;

before(async () => {
  env = await startAll();
});

after(() => {
  client.close();
  if (env) env.stop();
});

// GET over https.get; resolves with { status, body, verdict } (verdict from the socket).
function get(url, options) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, options, (res) => {
      const verdict = res.socket.chainverifyVerdict;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, verdict }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function assertNoPath(err) {
  assert.equal(err.code, 'CHAINVERIFY_REJECTED', String(err));
  assert.equal(err.verdict.verdict, 'REJECTED');
  assert.equal(err.verdict.status, 'NO_PATH_TO_TRUSTED_ANCHOR');
}

test('https.get with ChainverifyAgent: TRUSTED with the pruned chain', async () => {
  const agent = new client.ChainverifyAgent({ target: env.target, labels: { client: 'agent' } });
  const { status, body, verdict } = await get(`https://localhost:${env.tlsPort}/`, { agent });
  assert.equal(status, 200);
  assert.match(body, /s_server/);
  assert.equal(verdict.verdict, 'TRUSTED');
  assert.deepEqual(verdict.verified_chain.map((c) => c.subject), TRUSTED_CHAIN);
  agent.destroy();
});

test('https.get with ChainverifyAgent: an untrusted server fails before the request is sent', async () => {
  const agent = new client.ChainverifyAgent({ target: env.target });
  await assert.rejects(get(`https://localhost:${env.untrustedPort}/`, { agent }), (err) => {
    assertNoPath(err);
    return true;
  });
  agent.destroy();
});

test('https.get with ChainverifyAgent: the host name is verified', async () => {
  const agent = new client.ChainverifyAgent({ target: env.target });
  await assert.rejects(get(`https://127.0.0.1:${env.tlsPort}/`, { agent }), (err) => {
    assert.equal(err.code, 'CHAINVERIFY_REJECTED');
    assert.equal(err.verdict.status, 'NAME_MISMATCH');
    return true;
  });
  agent.destroy();
});

test('https.get with ChainverifyAgent: service down fails closed', async () => {
  const agent = new client.ChainverifyAgent({ target: `127.0.0.1:${await freePort()}`, deadlineMs: 3000 });
  await assert.rejects(get(`https://localhost:${env.tlsPort}/`, { agent }), (err) => {
    assert.equal(err.code, client.grpc.status.UNAVAILABLE);
    return true;
  });
  agent.destroy();
});

test('axios with httpsAgent: TRUSTED, and REJECTED carries the verdict', async () => {
  const httpsAgent = new client.ChainverifyAgent({ target: env.target });
  const res = await axios.get(`https://localhost:${env.tlsPort}/`, { httpsAgent, responseType: 'text' });
  assert.equal(res.status, 200);
  assert.match(res.data, /s_server/);
  await assert.rejects(axios.get(`https://localhost:${env.untrustedPort}/`, { httpsAgent }), (err) => {
    assert.ok(axios.isAxiosError(err), String(err));
    assertNoPath(err.cause);
    return true;
  });
  httpsAgent.destroy();
});

test('fetch with fetchDispatcher(): TRUSTED, and REJECTED carries the verdict', async () => {
  const dispatcher = client.fetchDispatcher({ target: env.target });
  const res = await fetch(`https://localhost:${env.tlsPort}/`, { dispatcher });
  assert.equal(res.status, 200);
  assert.match(await res.text(), /s_server/);
  await assert.rejects(fetch(`https://localhost:${env.untrustedPort}/`, { dispatcher }), (err) => {
    assert.equal(err.message, 'fetch failed');
    assertNoPath(err.cause);
    return true;
  });
  await assert.rejects(fetch(`https://127.0.0.1:${env.tlsPort}/`, { dispatcher }), (err) => {
    assert.equal(err.cause.verdict.status, 'NAME_MISMATCH');
    return true;
  });
  await dispatcher.close();
});

test('setGlobalFetchDispatcher(): every fetch verifies', async () => {
  const sym = Symbol.for('undici.globalDispatcher.1');
  const original = globalThis[sym];
  const dispatcher = client.setGlobalFetchDispatcher({ target: env.target });
  try {
    assert.equal(globalThis[sym], dispatcher);
    assert.equal((await fetch(`https://localhost:${env.tlsPort}/`)).status, 200);
    await assert.rejects(fetch(`https://localhost:${env.untrustedPort}/`), (err) => {
      assertNoPath(err.cause);
      return true;
    });
  } finally {
    globalThis[sym] = original;
    await dispatcher.close();
  }
});

test('200 verifications, 8 at a time, use one connection to the service', async () => {
  const fwd = await CountingForwarder.start(env.target);
  const agent = new client.ChainverifyAgent({ target: fwd.target });
  try {
    let started = 0;
    const statuses = [];
    const worker = async () => {
      while (started < 200) {
        started += 1;
        const { status, verdict } = await get(`https://localhost:${env.tlsPort}/`, { agent });
        assert.equal(verdict.verdict, 'TRUSTED');
        statuses.push(status);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    assert.deepEqual(statuses, new Array(200).fill(200));
    assert.equal(fwd.accepted, 1);
  } finally {
    agent.destroy();
    fwd.close();
  }
});

test('the first call after the service is back succeeds', async () => {
  // A channel that failed to connect sits in gRPC's reconnect backoff; an UNAVAILABLE
  // call drops it, so the next call connects at once.
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const chain = ['leaf.pem', 'inter.pem'].map((n) => new X509Certificate(fs.readFileSync(path.join(env.dir, n))).raw);
  await assert.rejects(client.verifyChain(chain, { host: 'localhost', target: address, deadlineMs: 3000 }),
    (err) => err.code === client.grpc.status.UNAVAILABLE);
  const fwd = await CountingForwarder.start(env.target, port);
  try {
    const v = await client.verifyChain(chain, { host: 'localhost', target: address, deadlineMs: 3000 });
    assert.equal(v.verdict, 'TRUSTED');
    assert.equal(fwd.accepted, 1);
  } finally {
    fwd.close();
  }
});

test('TypeScript: usage.ts compiles under --strict against index.d.ts and runs', () => {
  const project = path.resolve(__dirname, '..');
  const out = path.join(project, 'ts-out');
  execFileSync(path.join(project, 'node_modules', '.bin', 'tsc'),
    ['--strict', '--module', 'commonjs', '--target', 'es2022', '--lib', 'es2022', '--types', 'node',
      '--outDir', out,
      path.join(__dirname, 'usage.ts')],
    { cwd: project, stdio: ['ignore', 'inherit', 'inherit'] });
  const stdout = execFileSync(process.execPath, [path.join(out, 'usage.js')], {
    cwd: project,
    env: { ...process.env, CHAINVERIFY_TARGET: env.target, TLS_PORT: String(env.tlsPort),
      UNTRUSTED_PORT: String(env.untrustedPort) },
  });
  assert.deepEqual(JSON.parse(stdout), {
    subjects: TRUSTED_CHAIN,
    fetchStatus: 200,
    rejected: { code: 'CHAINVERIFY_REJECTED', status: 'NO_PATH_TO_TRUSTED_ANCHOR' },
  });
});
