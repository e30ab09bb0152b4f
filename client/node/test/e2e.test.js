'use strict';
// End to end: connect() and verifyChain() of the installed package against the real
// chainverifyd and an `openssl s_server` that sends leaf + intermediate + an unrelated
// certificate (and staples an OCSP response). See helpers.js; run by run_tests.sh.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const client = require('@chainverify/client');
const { freePort, startAll } = require('./helpers');

let env;
let dir;
let target;
let tlsPort;

before(async () => {
  env = await startAll();
  ({ dir, target, tlsPort } = env);
});

after(() => {
  client.close();
  if (env) env.stop();
});

test('the package is the installed tarball, with its .proto files inside', () => {
  // run_tests.sh copies these tests into a fresh project beside its node_modules.
  const root = path.dirname(require.resolve('@chainverify/client'));
  assert.equal(root, path.resolve(__dirname, '..', 'node_modules', '@chainverify', 'client'));
  assert.equal(fs.realpathSync(root), root, 'installed from the tarball, not linked to the source');
  for (const f of ['proto/chainverify/v1/verifier.proto', 'proto/google/protobuf/timestamp.proto', 'index.d.ts']) {
    assert.ok(fs.existsSync(path.join(root, f)), `${f} is missing from the package`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.equal(pkg.private, undefined);
  assert.equal(pkg.license, 'UNLICENSED');
  assert.equal(pkg.types, 'index.d.ts');
});

test('connect: TRUSTED with the pruned chain and the stapled OCSP response', async () => {
  const socket = await client.connect({ host: 'localhost', port: tlsPort, target, requestId: 'node-trusted',
    labels: { client: 'node-test' } });
  try {
    const v = socket.chainverifyVerdict;
    assert.equal(v.verdict, 'TRUSTED');
    assert.equal(v.status, 'OK');
    assert.equal(v.request_id, 'node-trusted');
    assert.equal(v.policy_name, 'p');
    assert.match(v.policy_version, /node/);
    assert.deepEqual(v.verified_chain.map((c) => c.subject),
      ['CN=localhost', 'CN=Node Test Intermediate', 'CN=Node Test Root']);
    assert.deepEqual(v.verified_chain.map((c) => c.source), ['REQUEST', 'REQUEST', 'TRUST_STORE']);
    // The peer sent leaf, intermediate, extra. Node exposes only the certificates that
    // chain up from the leaf (getPeerCertificate(true) drops unrelated ones), so the
    // extra certificate never reaches the service; the next test uploads it directly.
    assert.deepEqual(client.peerChainDer(socket).map((d) => d.length), v.verified_chain.slice(0, 2).map((c) => c.der.length));
    assert.deepEqual(v.unused_certificate_indices, []);
    assert.ok(socket.chainverifyStapledOcsp && socket.chainverifyStapledOcsp.length > 0, 'stapled OCSP response passed on');
    // The socket is usable: s_server -www answers an HTTP request.
    const body = await new Promise((resolve, reject) => {
      let data = '';
      socket.on('data', (d) => { data += d; });
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      socket.write('GET / HTTP/1.0\r\n\r\n');
    });
    assert.match(body, /^HTTP\/1\.0 200/);
  } finally {
    socket.destroy();
  }
});

test('verifyChain: leaf, intermediate and an unrelated extra give the pruned chain', async () => {
  const der = (name) => new crypto.X509Certificate(fs.readFileSync(path.join(dir, name))).raw;
  const v = await client.verifyChain([der('leaf.pem'), der('extra.pem'), der('inter.pem')], { host: 'localhost', target });
  assert.equal(v.verdict, 'TRUSTED');
  assert.deepEqual(v.verified_chain.map((c) => c.subject),
    ['CN=localhost', 'CN=Node Test Intermediate', 'CN=Node Test Root']);
  assert.deepEqual(v.verified_chain.map((c) => c.request_index), [0, 2, -1]);
  assert.deepEqual(v.unused_certificate_indices, [1]);
});

test('connect: REJECTED for a wrong host rejects with CHAINVERIFY_REJECTED', async () => {
  await assert.rejects(
    client.connect({ host: '127.0.0.1', port: tlsPort, peerName: 'wrong.example.com', target }),
    (err) => {
      assert.equal(err.code, 'CHAINVERIFY_REJECTED');
      assert.equal(err.verdict.verdict, 'REJECTED');
      assert.equal(err.verdict.status, 'NAME_MISMATCH');
      assert.match(err.message, /REJECTED NAME_MISMATCH \(name\./);
      return true;
    });
});

test('verifyChain: REJECTED is a resolved verdict, not an error', async () => {
  const pem = fs.readFileSync(path.join(dir, 'leaf.pem'), 'utf8');
  const leaf = new crypto.X509Certificate(pem).raw;
  const v = await client.verifyChain([leaf], { host: 'localhost', target });
  assert.equal(v.verdict, 'REJECTED');
  assert.equal(v.status, 'NO_PATH_TO_TRUSTED_ANCHOR');
  assert.ok(v.errors.length > 0 && v.errors[0].id);
});

test('service down: a clear UNAVAILABLE error', async () => {
  const down = `127.0.0.1:${await freePort()}`;
  await assert.rejects(
    client.connect({ host: 'localhost', port: tlsPort, target: down, deadlineMs: 3000 }),
    (err) => {
      assert.equal(err.code, client.grpc.status.UNAVAILABLE);
      assert.notEqual(err.code, 'CHAINVERIFY_REJECTED');
      assert.match(err.message, new RegExp(`chainverify ${down}`));
      return true;
    });
});
