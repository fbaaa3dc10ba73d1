import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspectGguf } from '../../../scripts/runtime/gguf.ts';
import { ggufBytes } from './gguf-fixture.ts';
import { scratchDir } from '../scratch.ts';

async function file(name: string, bytes: Buffer): Promise<string> {
  const p = join(scratchDir('aios-gguf-'), name);
  await writeFile(p, bytes);
  return p;
}

test('GGUF: a good file gives its counts, names and data end', async () => {
  const bytes = ggufBytes();
  const info = await inspectGguf(await file('good.gguf', bytes));
  assert.equal(info.version, 3);
  assert.equal(info.tensorCount, 1);
  assert.equal(info.kvCount, 3);
  assert.equal(info.strings['general.name'], 'fixture');
  assert.equal(info.strings['general.architecture'], 'llama');
  assert.equal(info.dataEnd, bytes.length);
});

test('GGUF: a truncated file is refused, naming the file and the tensor that does not fit', async () => {
  const p = await file('cut.gguf', ggufBytes({ truncateBy: 5 }));
  await assert.rejects(
    inspectGguf(p),
    (e: Error) => e.message.includes(p) && /truncated: tensor token_embd\.weight ends at byte \d+, but the file has \d+ bytes/.test(e.message),
  );
  const head = await file('head.gguf', ggufBytes().subarray(0, 40));
  await assert.rejects(inspectGguf(head), /head\.gguf: not a usable GGUF model: truncated: .* runs past the end/);
});

test('GGUF: a wrong magic, an unknown version, a missing file are each named', async () => {
  await assert.rejects(
    inspectGguf(await file('m.gguf', ggufBytes({ magic: 'GGML' }))),
    /m\.gguf: not a usable GGUF model: wrong magic "GGML", expected "GGUF"/,
  );
  await assert.rejects(inspectGguf(await file('v.gguf', ggufBytes({ version: 7 }))), /GGUF version 7; llama\.cpp reads versions 2 and 3/);
  await assert.rejects(inspectGguf('/nonexistent/x.gguf'), /x\.gguf: not a usable GGUF model: no such file/);
});
