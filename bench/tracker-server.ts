/**
 * Runs Shoal's tracker (UDP only, 127.0.0.1, any free port) as its own process for
 * bench/tracker.ts; prints `{"udpPort": N}` once listening and stops on SIGTERM/SIGINT.
 */
import { startTracker } from '../src/tracker/index.js';

const tracker = await startTracker({ host: '127.0.0.1', httpPort: null, udpPort: 0, intervalS: 1800 });
console.log(JSON.stringify({ udpPort: tracker.udpPort }));
const stop = async (): Promise<void> => {
  await tracker.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
