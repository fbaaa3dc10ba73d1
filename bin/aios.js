#!/usr/bin/env node
// The compiled CLI (dist/aios.mjs, made by `npm run build`, `prepare` and `prepack`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/aios.mjs', import.meta.url);
if (!existsSync(fileURLToPath(dist))) {
  process.stderr.write(`aios: ${fileURLToPath(dist)} is missing: run \`npm run build\` in ${fileURLToPath(new URL('..', import.meta.url))}\n`);
  process.exit(1);
}
await import(dist.href);
