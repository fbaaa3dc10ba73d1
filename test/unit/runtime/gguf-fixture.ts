/** A small GGUF file written by hand: the header fields the build checks, and one F32 tensor. */
export function ggufBytes(o: { magic?: string; version?: number; elements?: number; truncateBy?: number } = {}): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    parts.push(b);
  };
  const u64 = (n: number) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    parts.push(b);
  };
  const str = (s: string) => {
    u64(Buffer.byteLength(s));
    parts.push(Buffer.from(s));
  };
  parts.push(Buffer.from(o.magic ?? 'GGUF', 'latin1'));
  u32(o.version ?? 3);
  u64(1); // tensors
  u64(3); // metadata
  str('general.architecture');
  u32(8);
  str('llama');
  str('general.name');
  u32(8);
  str('fixture');
  str('tokenizer.ggml.tokens');
  u32(9);
  u32(8);
  u64(2);
  str('a');
  str('b');
  const elements = o.elements ?? 8;
  str('token_embd.weight');
  u32(1);
  u64(elements);
  u32(0);
  u64(0);
  let head = Buffer.concat(parts);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  const file = Buffer.concat([head, Buffer.alloc(elements * 4, 1)]);
  return file.subarray(0, file.length - (o.truncateBy ?? 0));
}
