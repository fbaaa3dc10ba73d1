import { copyFile, link, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { sha256File } from '../lib/hash.ts';
import { download } from '../net/download.ts';
import { inspectGguf } from '../runtime/gguf.ts';
import type { InputDecl } from '../pipeline/inputs.ts';
import { PYTHON, TINY_MODEL_ANSWER, TINY_MODEL_FILE, TINY_MODEL_TOKENS, TINY_MODEL_SEED, tinyModelArgs } from '../runtime/tiny-model.ts';

const STEP_VERSION = 1;

export interface ModelRecord {
  file: string;
  name: string;
  sha256: string;
  bytes: number;
  architecture: string;
  /** Text the answer must hold (the tiny model's sentence, or model.expect); empty: any answer. */
  expect: string;
  from: string;
}

/** The model: the tiny deterministic one made with gguf-py, or the user's GGUF (path or URL + sha256), checked before any image is written. */
export async function makeModel(ctx: BuildContext): Promise<void> {
  const m = ctx.opts.config.model;
  const configFile = ctx.opts.configFile;
  let inputs: InputDecl;
  let produce: (out: string) => Promise<{ file: string; from: string; expect: string }>;
  if (!m.source) {
    const src = need(ctx, 'runtime').srcDir;
    const script = join(ctx.opts.root, 'scripts', 'runtime', 'tiny-model.py');
    inputs = {
      version: STEP_VERSION,
      trees: { ggufPy: join(src, 'gguf-py', 'gguf') },
      files: { script, vocab: join(src, 'models', 'ggml-vocab-gpt-2.gguf'), python: PYTHON },
      values: { tokens: TINY_MODEL_TOKENS, seed: TINY_MODEL_SEED },
    };
    produce = async (out) => {
      ctx.log.info(`making the tiny model with ${src}/gguf-py`);
      const file = join(out, TINY_MODEL_FILE);
      await run(PYTHON, tinyModelArgs(script, src, file));
      return {
        file,
        from: `tiny model (gguf-py of llama.cpp ${need(ctx, 'runtime').commit?.slice(0, 7) ?? ''}, seed ${TINY_MODEL_SEED})`,
        expect: TINY_MODEL_ANSWER,
      };
    };
  } else {
    const url = /^https?:\/\//.test(m.source);
    if (url && !m.sha256) throw new Error(`${configFile}: model.sha256: a model URL needs its sha256 (model.source is ${m.source})`);
    const path = url ? '' : m.source; // resolved against aios.json's directory (project/locate.ts)
    if (path && !existsSync(path)) throw new Error(`${configFile}: model.source: ${path} does not exist`);
    inputs = { version: STEP_VERSION, ...(url ? {} : { files: { model: path } }), values: { url: url ? m.source : '', sha256: m.sha256, expect: m.expect } };
    produce = async (out) => {
      const file = join(out, basename(url ? new URL(m.source).pathname : path) || 'model.gguf');
      if (url) {
        ctx.log.info(`downloading ${m.source}`);
        await download(m.source, file, {
          sha256: m.sha256,
          onProgress: (r, t) => ctx.log.info(`${(r / 1e6).toFixed(0)}${t ? `/${(t / 1e6).toFixed(0)}` : ''} MB`),
        });
      } else {
        await link(path, file).catch(() => copyFile(path, file));
        const got = await sha256File(file);
        if (m.sha256 && got !== m.sha256) throw new Error(`${path}: sha256 is ${got}, but model.sha256 in ${configFile} says ${m.sha256}; nothing was written`);
      }
      return { file, from: m.source, expect: m.expect };
    };
  }
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const { file, from, expect } = await produce(out);
    const info = await inspectGguf(file);
    const record: ModelRecord = {
      file: basename(file),
      name: info.strings['general.name'] ?? basename(file, '.gguf'),
      sha256: await sha256File(file),
      bytes: info.fileBytes,
      architecture: info.strings['general.architecture'] ?? 'unknown',
      expect,
      from,
    };
    await writeFile(join(out, 'model.json'), JSON.stringify(record, null, 2));
  });
  const record = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as ModelRecord;
  ctx.model = { ...record, path: join(dir, record.file) };
  ctx.log.info(`model ${record.name} (${record.architecture}, ${(record.bytes / 1e6).toFixed(1)} MB, sha256 ${record.sha256.slice(0, 12)})`);
}
