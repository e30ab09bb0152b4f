'use strict';
// Shared set-up of the end-to-end tests: a test PKI made with the openssl CLI, the
// real chainverifyd ($CHAINVERIFYD), and two `openssl s_server -www`: one sending
// leaf (DNS:localhost) + intermediate + an unrelated certificate and stapling an OCSP
// response, one with a self-signed certificate for localhost the policy does not
// trust. run_tests.sh runs the tests from a fresh project outside the repository,
// where @chainverify/client is the installed `npm pack` tarball.

const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

function makePki(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const write = (name, text) => fs.writeFileSync(path.join(dir, name), text);
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
  // An unrelated self-signed certificate, also for localhost: sent as an extra by the
  // first server, and alone (untrusted) by the second.
  key('extra.key');
  openssl('req', '-new', '-x509', '-key', 'extra.key', '-out', 'extra.pem', '-days', '30', '-subj', '/CN=Unrelated Extra',
    '-addext', 'subjectAltName=DNS:localhost');
  write('chain_with_extra.pem',
    fs.readFileSync(path.join(dir, 'inter.pem'), 'utf8') + fs.readFileSync(path.join(dir, 'extra.pem'), 'utf8'));
  // A stapled OCSP response for the leaf, signed by the intermediate.
  write('index.txt', '');
  openssl('ocsp', '-issuer', 'inter.pem', '-cert', 'leaf.pem', '-no_nonce', '-reqout', 'req.der');
  openssl('ocsp', '-index', 'index.txt', '-rsigner', 'inter.pem', '-rkey', 'inter.key', '-CA', 'inter.pem',
    '-reqin', 'req.der', '-respout', 'resp.der', '-ndays', '1');
  write('policy.textproto',
    'version: "node"\ndefault_policy: "p"\npolicies { name: "p" trust_stores { pem_file: "root.pem" } profile: RFC5280 }\n');
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

async function sServer(dir, certArgs) {
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-accept', String(port), ...certArgs, '-www', '-quiet'],
    { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port);
  return { child, port };
}

// Starts everything; returns { dir, target, tlsPort, untrustedPort, stop() }.
async function startAll() {
  const chainverifyd = process.env.CHAINVERIFYD;
  assert.ok(chainverifyd && fs.existsSync(chainverifyd), `set CHAINVERIFYD to the chainverifyd binary (${chainverifyd})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chainverify-node-'));
  const children = [];
  const env = {
    dir,
    stop() {
      for (const c of children) c.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    makePki(dir);
    const server = spawn(chainverifyd, ['--listen=127.0.0.1:0', '--metrics_listen=',
      `--audit_log=${path.join(dir, 'audit.log')}`, `--policy_file=${path.join(dir, 'policy.textproto')}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(server);
    const line = await firstLine(server, 'chainverifyd');
    const m = /^listening on (\S+):(\d+) /.exec(line);
    assert.ok(m, `unexpected first line: ${line}`);
    env.target = `${m[1]}:${m[2]}`;
    const trusted = await sServer(dir, ['-cert', 'leaf.pem', '-key', 'leaf.key', '-cert_chain', 'chain_with_extra.pem',
      '-status_file', 'resp.der']);
    children.push(trusted.child);
    env.tlsPort = trusted.port;
    const untrusted = await sServer(dir, ['-cert', 'extra.pem', '-key', 'extra.key']);
    children.push(untrusted.child);
    env.untrustedPort = untrusted.port;
  } catch (e) {
    env.stop();
    throw e;
  }
  return env;
}

// A loopback TCP listener that forwards each connection to `upstream` (host:port) and
// counts the connections it accepted: a real byte pipe in front of chainverifyd.
class CountingForwarder {
  static async start(upstream, port = 0) {
    const fwd = new CountingForwarder(upstream);
    await new Promise((resolve, reject) => {
      fwd.server.once('error', reject);
      fwd.server.listen(port, '127.0.0.1', resolve);
    });
    fwd.target = `127.0.0.1:${fwd.server.address().port}`;
    return fwd;
  }

  constructor(upstream) {
    const i = upstream.lastIndexOf(':');
    const [host, port] = [upstream.slice(0, i), Number(upstream.slice(i + 1))];
    this.accepted = 0;
    this.sockets = new Set();
    this.server = net.createServer((conn) => {
      this.accepted += 1;
      const up = net.connect(port, host);
      for (const [a, b] of [[conn, up], [up, conn]]) {
        this.sockets.add(a);
        a.pipe(b);
        a.on('error', () => b.destroy());
        a.on('close', () => { b.destroy(); this.sockets.delete(a); });
      }
    });
  }

  close() {
    this.server.close();
    for (const s of this.sockets) s.destroy();
  }
}

module.exports = { CountingForwarder, freePort, startAll };
