/**
 * Vite build of the web dashboard: `vite build web` writes `web/dist`, which the daemon serves at
 * `/`. `vite web` runs a dev server that proxies the API to a daemon on 127.0.0.1:9080 (override
 * with SHOAL_DAEMON_URL); the proxy drops the browser's `Origin`, which the daemon would refuse as
 * foreign (its CSRF check only admits its own origin).
 */
import { defineConfig } from 'vite';

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const daemon = env.SHOAL_DAEMON_URL ?? 'http://127.0.0.1:9080';

const proxied = {
  target: daemon,
  changeOrigin: true,
  configure: (proxy: {
    on(event: 'proxyReq', fn: (req: { removeHeader(name: string): void }) => void): void;
  }) => {
    proxy.on('proxyReq', (req) => req.removeHeader('origin'));
  },
};

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Keep every asset a file: the daemon's CSP allows no inline script, and data: URLs for
    // scripts would be refused.
    assetsInlineLimit: 0,
    // Two pages: the torrents (index.html) and the Bitcoin light node (bitcoin.html).
    rollupOptions: {
      input: {
        main: new URL('index.html', import.meta.url).pathname,
        bitcoin: new URL('bitcoin.html', import.meta.url).pathname,
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': proxied, '/stream': proxied, '/metrics': proxied },
  },
});
