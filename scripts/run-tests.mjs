// Runs every test file under test/ with node:test through tsx.
// Usage: node scripts/run-tests.mjs [filter-substring ...]
//
// Private network namespace: a test file whose first lines hold the line
// `// shoal-test: private-netns` runs in a second `node --test` invocation inside a network
// namespace of its own with only `lo` up (`unshare -rn sh -c 'ip link set lo up && exec node …'`),
// so every process it starts (Node sessions, trackers, python3-libtorrent, Chromium) sees
// 127.0.0.1 and ::1 and no other interface. The Chromium WebRTC tests need this: Chromium gathers
// ICE candidates on every interface and can pair eth0 with a Node peer's 127.0.0.1 (see
// test/helpers/browser-peers.ts). The main invocation leaves those files out; both share the
// terminal (spec reporter) and the exit code is non-zero if either run fails. Without `unshare`
// or `ip`, or where the namespace cannot be made, the marked files run in the main invocation and
// skip themselves (they check that `lo` is their only interface).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The marker line, among a file's first {@link MARKER_LINES} lines. */
const NETNS_MARKER = '// shoal-test: private-netns';
const MARKER_LINES = 5;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'fixtures' && name !== 'node_modules') out.push(...walk(p));
    } else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function wantsNetns(file) {
  const head = readFileSync(file, 'utf8').split('\n', MARKER_LINES);
  return head.some((line) => line.trim() === NETNS_MARKER);
}

/** Whether `unshare -rn` and `ip` can make a namespace with `lo` up here. */
function netnsAvailable() {
  const r = spawnSync('unshare', ['-rn', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' });
  return r.status === 0;
}

const filters = process.argv.slice(2);
const files = walk('test')
  .sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

const marked = files.filter(wantsNetns);
const useNetns = marked.length > 0 && netnsAvailable();
if (marked.length > 0 && !useNetns) {
  console.error('run-tests: cannot make a network namespace (unshare -rn, ip); these files will skip:');
  for (const f of marked) console.error(`  ${f}`);
}
const main = useNetns ? files.filter((f) => !marked.includes(f)) : files;
const nodeArgs = ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec'];

let failed = false;
if (main.length > 0) {
  const r = spawnSync(process.execPath, [...nodeArgs, ...main], { stdio: 'inherit' });
  failed ||= r.status !== 0;
}
if (useNetns) {
  console.log(`\nrun-tests: in a private network namespace (lo only): ${marked.join(' ')}`);
  // "$0" is node, "$@" its arguments: sh only brings `lo` up and hands over.
  const r = spawnSync(
    'unshare',
    ['-rn', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...nodeArgs, ...marked],
    { stdio: 'inherit' },
  );
  failed ||= r.status !== 0;
}
process.exit(failed ? 1 : 0);
