/**
 * Vite build of Shoal's browser bundle: `vite build --config src/browser/vite.config.ts` writes
 * `dist/shoal-browser/shoal.js`, one ES module. The pure core imports three `node:` modules for
 * things a page has otherwise; they are aliased to small shims (src/browser/shims): `node:crypto`
 * (synchronous SHA-1/SHA-256 in TypeScript), `node:path` (POSIX path checks), `node:events`.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** The bundle's settings; `outDir` may be changed (the tests build into a temp folder). */
export function browserBundleConfig(outDir = here('../../dist/shoal-browser')) {
  return defineConfig({
    logLevel: 'warn',
    resolve: {
      alias: [
        { find: /^node:crypto$/, replacement: here('./shims/crypto.ts') },
        { find: /^node:path$/, replacement: here('./shims/path.ts') },
        { find: /^node:events$/, replacement: here('./shims/events.ts') },
      ],
    },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      minify: false,
      sourcemap: true,
      lib: { entry: here('./index.ts'), formats: ['es'], fileName: () => 'shoal.js' },
    },
  });
}

export default browserBundleConfig();
