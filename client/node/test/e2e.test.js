'use strict';
// End to end: a test PKI made with the openssl CLI, the real chainverifyd, and an
// `openssl s_server` that sends leaf + intermediate + an unrelated certificate (and
// staples an OCSP response). Run: node --test client/node/test/
// CHAINVERIFYD points at the server binary (default bazel-bin/server/chainverifyd
// relative to the repository root).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const client = require('..');

const REPO = path.resolve(__dirname, '..', '..', '..');
const CHAINVERIFYD = process.env.CHAINVERIFYD || path.join(REPO, 'bazel-bin', 'server', 'chainverifyd');

let dir;
let target;
let tlsPort;
let server;
let sServer;

function openssl(...args) {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
}

function write(name, text) {
  fs.writeFileSync(path.join(dir, name), text);
}

function makePki() {
  write('ca.ext', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' +
    'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  write('leaf.ext', 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n' +
    'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n' +
    'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  const key = (name) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name);
  // Root (self-signed).
  key('root.key');
  openssl('req', '-new', '-x509', '-key', 'root.key', '-out', 'root.pem', '-days', '30', '-subj', '/CN=Node Test Root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  // Intermediate, signed by the root.
  key('inter.key');
  openssl('req', '-new', '-key', 'inter.key', '-out', 'inter.csr', '-subj', '/CN=Node Test Intermediate');
  openssl('x509', '-req', '-in', 'inter.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', '2',
    '-days', '30', '-extfile', 'ca.ext', '-out', 'inter.pem');
  // Leaf for "localhost", signed by the intermediate.
  key('leaf.key');
  openssl('req', '-new', '-key', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'inter.pem', '-CAkey', 'inter.key', '-set_serial', '3',
    '-days', '30', '-extfile', 'leaf.ext', '-out', 'leaf.pem');
  // An unrelated certificate the server sends too; the verified chain must not use it.
  key('extra.key');
  openssl('req', '-new', '-x509', '-key', 'extra.key', '-out', 'extra.pem', '-days', '30', '-subj', '/CN=Unrelated Extra');
  write('chain_with_extra.pem',
    fs.readFileSync(path.join(dir, 'inter.pem'), 'utf8') + fs.readFileSync(path.join(dir, 'extra.pem'), 'utf8'));
  // A stapled OCSP response for the leaf, signed by the intermediate.
  write('index.txt', '');
  openssl('ocsp', '-issuer', 'inter.pem', '-cert', 'leaf.pem', '-no_nonce', '-reqout', 'req.der');
  openssl('ocsp', '-index', 'index.txt', '-rsigner', 'inter.pem', '-rkey', 'inter.key', '-CA', 'inter.pem',
    '-reqin', 'req.der', '-respout', 'resp.der', '-ndays', '1');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function firstLine(child, what) {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const rl = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`${what}: no output in 30s; stderr: ${stderr}`)), 30000);
    rl.once('line', (line) => { clearTimeout(timer); resolve(line); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}): ${stderr}`)); });
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function waitForPort(port) {
  const until = Date.now() + 15000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(); });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

before(async () => {
  assert.ok(fs.existsSync(CHAINVERIFYD), `chainverifyd not found at ${CHAINVERIFYD} (set CHAINVERIFYD)`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainverify-node-'));
  makePki();
  write('policy.textproto',
    'version: "node"\ndefault_policy: "p"\npolicies { name: "p" trust_stores { pem_file: "root.pem" } profile: RFC5280 }\n');

  server = spawn(CHAINVERIFYD, ['--listen=127.0.0.1:0', '--metrics_listen=',
    `--audit_log=${path.join(dir, 'audit.log')}`, `--policy_file=${path.join(dir, 'policy.textproto')}`],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await firstLine(server, 'chainverifyd');
  const m = /^listening on (\S+):(\d+) /.exec(line);
  assert.ok(m, `unexpected first line: ${line}`);
  target = `${m[1]}:${m[2]}`;

  tlsPort = await freePort();
  sServer = spawn('openssl', ['s_server', '-accept', String(tlsPort), '-cert', 'leaf.pem', '-key', 'leaf.key',
    '-cert_chain', 'chain_with_extra.pem', '-status_file', 'resp.der', '-www', '-quiet'],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  await waitForPort(tlsPort);
});

after(() => {
  client.close();
  if (sServer) sServer.kill();
  if (server) server.kill();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
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
  const der = (name) => new (require('node:crypto').X509Certificate)(fs.readFileSync(path.join(dir, name))).raw;
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
  const leaf = new (require('node:crypto').X509Certificate)(pem).raw;
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
