// Crafted tar archives for the hostile-input tests, written byte by byte: an attacker's archive
// need not be one that a well-behaved packer would write (`..`, absolute names, control bytes).
import { writeFile } from 'node:fs/promises';

export interface CraftEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  mode?: number;
  body?: string;
  linkpath?: string;
  devmajor?: number;
  devminor?: number;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' } as const;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, type: string, size: number, mode: number, linkname = '', dev = { major: 0, minor: 0 }): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 99), 0, 'latin1');
  h.write(octal(mode, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(1700000000, 12), 136);
  h.write('        ', 148);
  h.write(type, 156);
  h.write(linkname.slice(0, 99), 157, 'latin1');
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(octal(dev.major, 8), 329);
  h.write(octal(dev.minor, 8), 337);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

/** A PAX record: the name goes in whole, whatever bytes it holds. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (`${len}`.length + Buffer.byteLength(body) !== len) len = `${len}`.length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`);
}

export function craftTar(entries: readonly CraftEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const body = Buffer.from(type === 'file' ? (e.body ?? '') : '');
    const pax = Buffer.concat([paxRecord('path', e.path), ...(e.linkpath !== undefined ? [paxRecord('linkpath', e.linkpath)] : [])]);
    parts.push(header('PaxHeader', 'x', pax.length, 0o644), pad(pax));
    parts.push(
      header(e.path, TYPEFLAG[type], body.length, e.mode ?? (type === 'dir' ? 0o755 : 0o644), e.linkpath, { major: e.devmajor ?? 0, minor: e.devminor ?? 0 }),
    );
    if (body.length) parts.push(pad(body));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A `docker save` tarball (legacy layout) of the given layers, each a list of entries. */
export async function craftSavedImage(file: string, layers: readonly (readonly CraftEntry[])[]): Promise<void> {
  const config = JSON.stringify({ config: { Cmd: ['/bin/true'] }, rootfs: { type: 'layers' } });
  const layerNames = layers.map((_, i) => `layer${i}/layer.tar`);
  const manifest = JSON.stringify([{ Config: 'config.json', RepoTags: ['crafted:1'], Layers: layerNames }]);
  const outer: CraftEntry[] = [
    { path: 'manifest.json', body: manifest },
    { path: 'config.json', body: config },
    ...layers.flatMap((l, i) => [
      { path: `layer${i}`, type: 'dir' as const },
      { path: layerNames[i]!, body: craftTar(l).toString('latin1') },
    ]),
  ];
  // Layer bodies are binary: written as latin1 so that each byte stays itself.
  const parts: Buffer[] = [];
  for (const e of outer) {
    const type = e.type ?? 'file';
    const body = Buffer.from(e.body ?? '', 'latin1');
    parts.push(header(e.path, TYPEFLAG[type], body.length, type === 'dir' ? 0o755 : 0o644));
    if (body.length) parts.push(pad(body));
  }
  parts.push(Buffer.alloc(1024));
  await writeFile(file, Buffer.concat(parts));
}
