import { join } from 'node:path';

/**
 * The default model: made at build time by scripts/runtime/tiny-model.py with the llama.cpp
 * tree's own gguf-py and GPT-2 vocabulary. Greedy decoding of a prompt whose last token is not
 * one of these answers exactly TINY_MODEL_ANSWER.
 */
export const TINY_MODEL_TOKENS = ['Hello', 'Ġfrom', 'Ġthe', 'Ġa', 'i', 'OS', 'Ġappliance'] as const;
export const TINY_MODEL_ANSWER = TINY_MODEL_TOKENS.join('').replace(/Ġ/g, ' ');
export const TINY_MODEL_SEED = 1;
export const TINY_MODEL_FILE = 'aios-tiny.gguf';
/** Debian's python3, which has python3-numpy; a python3 earlier on PATH (pyenv) may not. */
export const PYTHON = '/usr/bin/python3';

export function tinyModelArgs(script: string, llamaSrc: string, out: string): string[] {
  return [
    script,
    '--gguf-py',
    join(llamaSrc, 'gguf-py'),
    '--vocab',
    join(llamaSrc, 'models', 'ggml-vocab-gpt-2.gguf'),
    '--out',
    out,
    '--tokens',
    JSON.stringify(TINY_MODEL_TOKENS),
    '--seed',
    String(TINY_MODEL_SEED),
  ];
}
