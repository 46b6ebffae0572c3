/**
 * Turns the benchmark's own servers (`bench/servers/**.ts`) into plain JavaScript under
 * `.cache/bench/servers/` before they start. Running them through `tsx` instead would add its loader
 * thread and about 35 MB of resident memory to every row but Portcullis (which runs from `dist/`),
 * skewing the RSS and CPU columns. Type-only transpilation: `npx tsc -p tsconfig.test.json` checks them.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Transpiles every file under `sourceDir` into `outDir`, keeping the layout; returns `outDir`. */
export function compileServers(sourceDir: string, outDir: string): string {
  for (const file of sources(sourceDir)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    });
    const target = join(outDir, relative(sourceDir, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return outDir;
}
