// Regenerates the configuration reference (docs/reference.md) from the typed specs, so it cannot
// drift (a unit test fails when it is behind).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe } from '../../common/schema.ts';
import { projectSpec } from '../project/config.ts';
import { initSpec } from '../../common/init-spec.ts';

const header = '| key | type | default | meaning |\n|---|---|---|---|';
const section = (begin: string, end: string, rows: string[]) => (text: string) => {
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < 0) throw new Error(`docs/reference.md lacks the markers ${begin} ... ${end}`);
  return `${text.slice(0, a + begin.length)}\n${header}\n${rows.join('\n')}\n${text.slice(b)}`;
};

const file = join(import.meta.dirname, '..', '..', 'docs', 'reference.md');
let text = await readFile(file, 'utf8');
text = section('<!-- aios.json:begin -->', '<!-- aios.json:end -->', describe(projectSpec))(text);
text = section('<!-- init.json:begin -->', '<!-- init.json:end -->', describe(initSpec))(text);
await writeFile(file, text);
console.log('docs/reference.md updated');
