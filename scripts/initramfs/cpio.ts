/**
 * A deterministic newc ("070701") cpio writer: entries sorted by path, owner 0:0, one fixed
 * mtime, inode numbers by position. Enough for an initramfs; checked against GNU cpio in tests.
 */
export interface CpioEntry {
  path: string; // relative, no leading slash
  type: 'file' | 'dir' | 'symlink' | 'chardev';
  mode: number; // permission bits
  data?: Buffer; // file contents
  target?: string; // symlink target
  rdev?: [number, number];
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000, chardev: 0o020000 } as const;

function hex8(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

function header(e: { ino: number; mode: number; nlink: number; mtime: number; size: number; nameLen: number; rdev?: [number, number] }): string {
  const [rmaj, rmin] = e.rdev ?? [0, 0];
  return `070701${hex8(e.ino)}${hex8(e.mode)}${hex8(0)}${hex8(0)}${hex8(e.nlink)}${hex8(e.mtime)}${hex8(e.size)}${hex8(0)}${hex8(0)}${hex8(rmaj)}${hex8(rmin)}${hex8(e.nameLen)}${hex8(0)}`;
}

function record(name: string, meta: Parameters<typeof header>[0], body: Buffer): Buffer[] {
  const nameBuf = Buffer.from(`${name}\0`);
  const h = Buffer.from(header({ ...meta, nameLen: nameBuf.length }));
  return [h, nameBuf, Buffer.alloc(pad4(h.length + nameBuf.length)), body, Buffer.alloc(pad4(body.length))];
}

export function writeCpio(entries: readonly CpioEntry[], mtime: number): Buffer {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Buffer[] = [];
  sorted.forEach((e, i) => {
    const body = e.type === 'file' ? (e.data ?? Buffer.alloc(0)) : e.type === 'symlink' ? Buffer.from(e.target ?? '') : Buffer.alloc(0);
    parts.push(
      ...record(
        e.path,
        { ino: i + 1, mode: TYPE_BITS[e.type] | (e.mode & 0o7777), nlink: e.type === 'dir' ? 2 : 1, mtime, size: body.length, nameLen: 0, rdev: e.rdev },
        body,
      ),
    );
  });
  parts.push(...record('TRAILER!!!', { ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, nameLen: 0 }, Buffer.alloc(0)));
  return Buffer.concat(parts);
}
