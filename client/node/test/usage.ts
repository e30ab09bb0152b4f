// A TypeScript user of @chainverify/client: http.test.js compiles it with tsc --strict
// against the installed index.d.ts and runs it against the test servers.
import * as https from 'node:https';
import {
  ChainverifyAgent,
  ChainverifyRejectedError,
  VerifiedTLSSocket,
  VerifyResponse,
  close,
  fetchDispatcher,
  verifyChain,
} from '@chainverify/client';

function get(url: string, agent: https.Agent): Promise<VerifyResponse> {
  return new Promise((resolve, reject) => {
    https.get(url, { agent }, (res) => {
      res.resume();
      resolve((res.socket as VerifiedTLSSocket).chainverifyVerdict);
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  const target = process.env.CHAINVERIFY_TARGET ?? '127.0.0.1:50051';
  const agent = new ChainverifyAgent({ target, keepAlive: false, deadlineMs: 5000 });
  const verdict = await get(`https://localhost:${process.env.TLS_PORT}/`, agent);
  const subjects: string[] = verdict.verified_chain.map((c) => c.subject);

  const dispatcher = fetchDispatcher({ target });
  const res = await fetch(`https://localhost:${process.env.TLS_PORT}/`, { dispatcher });
  await res.text();

  let rejected: { code: string; status: string } | null = null;
  try {
    await get(`https://localhost:${process.env.UNTRUSTED_PORT}/`, agent);
  } catch (e) {
    const err = e as ChainverifyRejectedError;
    rejected = { code: err.code, status: err.verdict.status };
  }
  // verifyChain's REJECTED is a resolved verdict.
  const direct: VerifyResponse = await verifyChain([verdict.verified_chain[0].der], { host: 'localhost', target });
  if (direct.verdict !== 'REJECTED') throw new Error(`leaf alone: ${direct.verdict}`);

  console.log(JSON.stringify({ subjects, fetchStatus: res.status, rejected }));
  agent.destroy();
  await dispatcher.close();
  close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
