/**
 * `node --import tsx test/helpers/relay-peer.ts <bind host> <target host> <target port> <delay ms>`
 * — a {@link UdpRelay} as a process (to run inside a network namespace): every datagram waits
 * `delay ms` each way, none is duplicated. Prints `{"t":"ready","port":N}` once bound; ends on
 * SIGTERM or when stdin closes.
 */
import { UdpRelay } from './udp-relay.js';

const [bindHost, targetHost, targetPort, delay] = process.argv.slice(2);
const relay = new UdpRelay({
  bindHost: bindHost!,
  targetHost: targetHost!,
  targetPort: Number(targetPort),
  minDelayMs: Number(delay),
  maxDelayMs: Number(delay),
  duplicate: 0,
  seed: 1,
});
const port = await relay.start();
console.log(JSON.stringify({ t: 'ready', port }));
const stop = () => {
  relay.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
