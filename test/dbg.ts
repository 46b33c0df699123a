import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from '../src/session/index.js';
import { createTorrent } from '../src/storage/index.js';
import { writeTree } from './helpers/payload.js';
import { WebOrigin } from './helpers/web-origin.js';

const dir = await mkdtemp(join(tmpdir(), 'dbg-'));
await writeTree(join(dir, 'src'), { 'single.bin': 50_000_000 }, 3);
const tb = (await createTorrent(join(dir, 'src', 'single.bin'), { pieceLength: 262144 })).bytes;
const w = await WebOrigin.start({ root: join(dir, 'src') });
const s = await Session.create({ host: '127.0.0.1', listen: false, downloadDir: join(dir, 'out') });
const t0 = performance.now();
const t = await s.addTorrent(tb, { webSeeds: [w.url] });
const iv = setInterval(
  () =>
    console.log((performance.now() - t0).toFixed(0), JSON.stringify(t.webSeeds()[0]), t.stats().haveCount),
  200,
);
await t.whenDone();
clearInterval(iv);
console.log('done ms', performance.now() - t0, 'requests', w.requests.length, 'maxInFlight', w.maxInFlight);
console.log(w.requests.slice(0, 12));
await s.close();
await w.close();
