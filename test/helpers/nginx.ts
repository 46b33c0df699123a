/**
 * nginx (Debian `nginx`) as a web seed origin for tests and benchmarks: started unprivileged from
 * a config written into a temp folder (`daemon off;`, pid, logs and temp paths there, `user root;`
 * when running as root), listening on 127.0.0.1 only — plain HTTP, and HTTPS with a self-signed
 * certificate made with `openssl` when asked. Its access log records the bytes of every answer.
 * `stop()` ends the process this helper started (by its PID) and removes the folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientProcess, freePort } from './clients.js';

export const NGINX = '/usr/sbin/nginx';
export const OPENSSL = '/usr/bin/openssl';

/** Why nginx cannot be used here, or undefined when it can. */
export function nginxMissing(): string | undefined {
  if (!existsSync(NGINX)) return 'nginx is not installed (apt-get install nginx)';
  if (!existsSync(OPENSSL)) return 'openssl is not installed';
  return undefined;
}

export interface NginxOptions {
  /** Folder served at `/`. */
  readonly root: string;
  /** Also serve HTTPS (self-signed certificate for 127.0.0.1). */
  readonly tls?: boolean;
  /**
   * nginx `limit_rate`, e.g. `'1m'` (bytes/s with k/m suffixes). nginx applies it per request, and
   * lets about a second's worth through at once before it bites.
   */
  readonly limitRate?: string;
}

/** One access log line: the request and the bytes of the body sent. */
export interface AccessEntry {
  readonly request: string;
  readonly status: number;
  readonly bytes: number;
  readonly range: string;
}

export class Nginx {
  readonly port: number;
  readonly tlsPort: number | undefined;
  /** The self-signed certificate (PEM file) to trust, when `tls`. */
  readonly caFile: string | undefined;
  readonly #dir: string;
  readonly #proc: ClientProcess;

  private constructor(
    dir: string,
    port: number,
    tlsPort: number | undefined,
    caFile: string | undefined,
    proc: ClientProcess,
  ) {
    this.#dir = dir;
    this.port = port;
    this.tlsPort = tlsPort;
    this.caFile = caFile;
    this.#proc = proc;
  }

  static async start(o: NginxOptions): Promise<Nginx> {
    const dir = await mkdtemp(join(tmpdir(), 'shoal-nginx-'));
    const port = await freePort();
    const tlsPort = o.tls ? await freePort() : undefined;
    let caFile: string | undefined;
    if (o.tls) {
      caFile = join(dir, 'cert.pem');
      const r = spawnSync(
        OPENSSL,
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          caFile,
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
        ],
        { timeout: 30_000 },
      );
      if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    }
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) await mkdir(join(dir, t));
    const asRoot = process.getuid?.() === 0;
    const conf = `
${asRoot ? 'user root;' : ''}
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  default_type application/octet-stream;
  log_format shoal '$status $body_bytes_sent "$http_range" "$request"';
  access_log ${dir}/access.log shoal;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:${port};
    ${
      tlsPort !== undefined
        ? `listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;`
        : ''
    }
    root ${o.root};
    ${o.limitRate !== undefined ? `limit_rate ${o.limitRate};` : ''}
  }
}
`;
    await writeFile(join(dir, 'nginx.conf'), conf);
    const proc = new ClientProcess('nginx', NGINX, [
      '-p',
      dir,
      '-e',
      join(dir, 'error.log'),
      '-c',
      join(dir, 'nginx.conf'),
    ]);
    const n = new Nginx(dir, port, tlsPort, caFile, proc);
    try {
      await waitStarted(dir, proc);
    } catch (e) {
      await n.stop();
      throw e;
    }
    return n;
  }

  /** `http://127.0.0.1:PORT/` */
  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** `https://127.0.0.1:TLSPORT/` */
  get httpsUrl(): string {
    if (this.tlsPort === undefined) throw new Error('nginx was started without tls');
    return `https://127.0.0.1:${this.tlsPort}/`;
  }

  /** What nginx logged so far (it writes a line when an answer is complete). */
  async accessLog(): Promise<AccessEntry[]> {
    const text = await readFile(join(this.#dir, 'access.log'), 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const m = /^(\d+) (\d+) "([^"]*)" "([^"]*)"$/.exec(l);
        return m === null
          ? { request: l, status: 0, bytes: 0, range: '' }
          : { status: Number(m[1]), bytes: Number(m[2]), range: m[3]!, request: m[4]! };
      });
  }

  /** The error log (for failure messages). */
  errorLog(): Promise<string> {
    return readFile(join(this.#dir, 'error.log'), 'utf8').catch(() => '');
  }

  /** Stops this nginx (its master process, by PID; the workers follow) and removes its folder. */
  async stop(): Promise<void> {
    await this.#proc.stop();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/**
 * Resolves once nginx wrote its pid file — it does so after it opened its listening sockets —
 * watching the folder (no polling); rejects if the process exits first or after 10 s.
 */
function waitStarted(dir: string, proc: ClientProcess): Promise<void> {
  const pidFile = join(dir, 'nginx.pid');
  return new Promise<void>((resolve, reject) => {
    const watcher = watch(dir);
    const done = (err?: Error) => {
      watcher.close();
      clearTimeout(timer);
      if (err === undefined) resolve();
      else reject(err);
    };
    const timer = setTimeout(() => done(new Error(`nginx did not start in 10 s: ${proc.output()}`)), 10_000);
    watcher.on('change', () => {
      if (existsSync(pidFile)) done();
    });
    void proc.exited.then(() => done(new Error(`nginx exited: ${proc.output()}`)));
    if (existsSync(pidFile)) done();
  });
}
