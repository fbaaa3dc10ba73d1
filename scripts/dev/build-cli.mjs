// Compiles the CLI to dist/aios.mjs with esbuild (run by `prepare` and `prepack`), so that an
// installed aios needs neither tsx nor TypeScript. Dependencies stay in node_modules.
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
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
