// Compiles the CLI to dist/aios.mjs with esbuild (run by `prepare` and `prepack`), so that an
// installed aios needs neither tsx nor TypeScript. The dependencies go into the same file: Node
// resolving and compiling some 400 modules of node_modules cost every command, a no-op build
// included, about 0.3 s here. esbuild (a native binary it spawns) and dockerode (native optional
// parts, loaded only when an engine is asked for) stay in node_modules.
import { build } from 'esbuild';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
await build({
  entryPoints: [join(root, 'scripts/cli.ts')],
  outfile: join(root, 'dist/aios.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['esbuild', 'dockerode'],
  // CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: "import { createRequire as __aiosRequire } from 'node:module'; const require = __aiosRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
