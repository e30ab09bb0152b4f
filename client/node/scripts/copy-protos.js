'use strict';
// `npm pack` runs this first (prepack): the package ships the .proto files it loads,
// so it works outside this repository. verifier.proto comes from the repository's
// proto/ and google/protobuf/timestamp.proto from Debian's libprotobuf-dev, as the
// server is built with. The copy (client/node/proto/) is not committed.
const fs = require('node:fs');
const path = require('node:path');

const out = path.join(__dirname, '..', 'proto');
const sources = [
  [path.join(__dirname, '..', '..', '..', 'proto'), 'chainverify/v1/verifier.proto'],
  ['/usr/include', 'google/protobuf/timestamp.proto'],
];

fs.rmSync(out, { recursive: true, force: true });
for (const [root, file] of sources) {
  const from = path.join(root, file);
  if (!fs.existsSync(from)) {
    console.error(`copy-protos: ${from} is missing (the repository's proto/, or libprotobuf-dev)`);
    process.exit(1);
  }
  fs.mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
  fs.copyFileSync(from, path.join(out, file));
}
