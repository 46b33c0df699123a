/**
 * `/metrics`: the node's counters and gauges in the Prometheus text exposition format (0.0.4).
 * Counters count since the daemon process started; `shoal_torrent_*` lifetime totals are gauges
 * because they drop when a torrent is removed.
 */
import { TORRENT_STATES } from '../api-types.js';
import type { TorrentManager } from '../torrent-manager.js';

/** Content type of the Prometheus text format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface Extra {
  readonly sseClients: number;
  readonly streams: number;
}

/** Renders the metrics page. */
export function renderMetrics(manager: TorrentManager, extra: Extra): string {
  const s = manager.stats();
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  metric('shoal_download_rate_bytes', 'gauge', 'Payload download rate over all torrents, bytes/s.', [
    ['', s.downloadRate],
  ]);
  metric('shoal_upload_rate_bytes', 'gauge', 'Payload upload rate over all torrents, bytes/s.', [
    ['', s.uploadRate],
  ]);
  metric('shoal_downloaded_bytes_total', 'counter', 'Payload bytes received by this daemon process.', [
    ['', s.sessionDownloadedBytes],
  ]);
  metric('shoal_uploaded_bytes_total', 'counter', 'Payload bytes sent by this daemon process.', [
    ['', s.sessionUploadedBytes],
  ]);
  metric('shoal_torrent_downloaded_bytes', 'gauge', 'Lifetime payload bytes received by the torrents kept.', [
    ['', s.downloadedBytes],
  ]);
  metric('shoal_torrent_uploaded_bytes', 'gauge', 'Lifetime payload bytes sent by the torrents kept.', [
    ['', s.uploadedBytes],
  ]);
  metric(
    'shoal_torrents',
    'gauge',
    'Torrents by state.',
    TORRENT_STATES.map((st) => [`{state="${st}"}`, s.torrentsByState[st]]),
  );
  metric('shoal_peers', 'gauge', 'Connected peers over all torrents.', [['', s.peerCount]]);
  metric('shoal_connections', 'gauge', 'Open peer connections (both directions, handshaking included).', [
    ['', s.connectionCount],
  ]);
  metric('shoal_hash_failures', 'gauge', 'Pieces that failed their hash check, over the running torrents.', [
    ['', s.hashFailures],
  ]);
  metric('shoal_wasted_bytes', 'gauge', 'Payload bytes received but not used, over the running torrents.', [
    ['', s.wastedBytes],
  ]);
  if (s.dhtNodes !== null)
    metric('shoal_dht_nodes', 'gauge', 'Nodes in the DHT routing table.', [['', s.dhtNodes]]);
  metric('shoal_hash_threads', 'gauge', 'Hash threads alive (0 with --low-memory until one is needed).', [
    ['', s.hashThreads],
  ]);
  metric('shoal_sse_clients', 'gauge', 'Listeners on /api/v1/events.', [['', extra.sseClients]]);
  metric('shoal_streams', 'gauge', 'Open /stream responses.', [['', extra.streams]]);
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [['', mem.rss]]);
  metric('process_cpu_seconds_total', 'counter', 'User and system CPU time spent, seconds.', [
    ['', (cpu.user + cpu.system) / 1e6],
  ]);
  metric('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch, seconds.', [
    ['', Math.round(Date.now() / 1000 - process.uptime())],
  ]);
  metric('shoal_uptime_seconds', 'gauge', 'Seconds since the daemon started.', [['', s.uptimeSeconds]]);
  return `${lines.join('\n')}\n`;
}
