import { open } from 'node:fs/promises';

/** What the build checks of a model before it goes into an image. */
export interface GgufInfo {
  version: number;
  tensorCount: number;
  kvCount: number;
  /** String metadata (general.name, general.architecture, ...); arrays and numbers are skipped. */
  strings: Record<string, string>;
  /** Where the last tensor's data ends: the file must be at least this long. */
  dataEnd: number;
  fileBytes: number;
}

export class GgufError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: not a usable GGUF model: ${problem}`);
  }
}

const MAGIC = 0x46554747; // "GGUF" little-endian
// Sizes of the fixed-width value types, by GGUF type id; 8 = string, 9 = array.
const SCALAR_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
// ggml type id -> [block size in elements, bytes per block], for the types a model can hold.
const GGML_TYPES: Record<number, [number, number]> = {
  0: [1, 4],
  1: [1, 2],
  2: [32, 18],
  3: [32, 20],
  6: [32, 22],
  7: [32, 24],
  8: [32, 34],
  9: [32, 36],
  10: [256, 84],
  11: [256, 110],
  12: [256, 144],
  13: [256, 176],
  14: [256, 210],
  15: [256, 292],
  16: [256, 66],
  17: [256, 74],
  18: [256, 98],
  19: [256, 50],
  20: [32, 18],
  21: [256, 110],
  22: [256, 82],
  23: [256, 136],
  24: [1, 1],
  25: [1, 2],
  26: [1, 4],
  27: [1, 8],
  28: [1, 8],
  29: [256, 56],
  30: [1, 2],
  34: [256, 54],
  35: [256, 66],
  39: [32, 17],
};
const ALIGNMENT_KEY = 'general.alignment';

/** A bounds-checked little-endian reader over the head of the file. */
class Cursor {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    readonly file: string,
  ) {}
  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new GgufError(this.file, `truncated: ${what} runs past the end of the header (offset ${this.pos})`);
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufError(this.file, `${what} is implausibly large (${v})`);
    return Number(v);
  }
  str(what: string): string {
    const n = this.u64(`${what} length`);
    this.need(n, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}

function skipValue(c: Cursor, type: number, key: string): void {
  if (type === 8) return void c.str(key);
  if (type === 9) {
    const inner = c.u32(`${key} element type`);
    const n = c.u64(`${key} element count`);
    if (inner === 8) for (let i = 0; i < n; i++) c.str(`${key}[${i}]`);
    else if (SCALAR_BYTES[inner] !== undefined) c.skip(n * SCALAR_BYTES[inner]!, key);
    else throw new GgufError(c.file, `metadata ${key}: unknown array element type ${inner}`);
    return;
  }
  const size = SCALAR_BYTES[type];
  if (size === undefined) throw new GgufError(c.file, `metadata ${key}: unknown value type ${type}`);
  c.skip(size, key);
}

/** Parse a GGUF header from its first bytes; `fileBytes` is the file's real length. */
export function parseGgufHeader(head: Buffer, fileBytes: number, file: string): GgufInfo {
  const c = new Cursor(head, file);
  if (head.length < 4 || head.readUInt32LE(0) !== MAGIC)
    throw new GgufError(file, `wrong magic ${JSON.stringify(head.subarray(0, 4).toString('latin1'))}, expected "GGUF"`);
  c.pos = 4;
  const version = c.u32('version');
  if (version < 2 || version > 3) throw new GgufError(file, `GGUF version ${version}; llama.cpp reads versions 2 and 3`);
  const tensorCount = c.u64('tensor count');
  const kvCount = c.u64('metadata count');
  if (tensorCount === 0) throw new GgufError(file, 'it holds no tensors (a vocabulary-only file is not a model)');
  const strings: Record<string, string> = {};
  let alignment = 32;
  for (let i = 0; i < kvCount; i++) {
    const key = c.str(`metadata key ${i}`);
    const type = c.u32(`type of ${key}`);
    if (type === 8) strings[key] = c.str(key);
    else if (key === ALIGNMENT_KEY && type === 4) alignment = c.u32(key);
    else skipValue(c, type, key);
  }
  let dataEnd = 0;
  const infos: { name: string; offset: number; bytes: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str(`tensor name ${i}`);
    const dims = c.u32(`${name} dimension count`);
    if (dims > 4) throw new GgufError(file, `tensor ${name} has ${dims} dimensions (at most 4)`);
    let elements = 1;
    for (let d = 0; d < dims; d++) elements *= c.u64(`${name} dimension ${d}`);
    const type = c.u32(`${name} type`);
    const offset = c.u64(`${name} offset`);
    const t = GGML_TYPES[type];
    if (!t) throw new GgufError(file, `tensor ${name} has unknown ggml type ${type}`);
    if (elements % t[0] !== 0) throw new GgufError(file, `tensor ${name}: ${elements} elements is not a whole number of blocks of ${t[0]}`);
    infos.push({ name, offset, bytes: (elements / t[0]) * t[1] });
  }
  const dataStart = Math.ceil(c.pos / alignment) * alignment;
  for (const t of infos) dataEnd = Math.max(dataEnd, dataStart + t.offset + t.bytes);
  if (dataEnd > fileBytes) {
    const last = infos.reduce((a, b) => (a.offset + a.bytes >= b.offset + b.bytes ? a : b));
    throw new GgufError(file, `truncated: tensor ${last.name} ends at byte ${dataEnd}, but the file has ${fileBytes} bytes`);
  }
  return { version, tensorCount, kvCount, strings, dataEnd, fileBytes };
}

/** Read and check a model file's header (magic, version, counts, and that every tensor fits). */
export async function inspectGguf(file: string, headLimit = 64 * 1024 * 1024): Promise<GgufInfo> {
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new GgufError(file, err.code === 'ENOENT' ? 'no such file' : err.message);
  });
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(size, headLimit));
    await fh.read(head, 0, head.length, 0);
    return parseGgufHeader(head, size, file);
  } finally {
    await fh.close();
  }
}
