/**
 * Shared by the benchmarks that run Shoal as the published CLI does, from JavaScript under plain
 * `node`: TypeScript sources are transpiled file by file (no type check; `npm test` does that).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/** Every `.ts` file below `dir`. */
export function tsFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFilesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Writes each file's JavaScript to `outDir`, at its path relative to `base`, `.ts` → `.js`. */
export function transpileTree(files: readonly string[], base: string, outDir: string): void {
  for (const file of files) {
    const js = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
      fileName: file,
    }).outputText;
    const target = join(outDir, relative(base, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
}
