import { createReadStream, existsSync } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, join } from 'node:path';
import { IPXE_BINARIES, ipxeScript, NET_FILES, netCmdline } from '../common/netboot.ts';
import { isoRootExtent } from './image-facts.ts';
import { partitionsOf } from './disk-check.ts';
import { createHash } from 'node:crypto';
import { parseManifest, UPDATE_PATHS } from '../common/slots.ts';

/** One fetch as the server saw it: who, what, how it ended. */
export interface Fetch {
  client: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
}

export interface NetServerOptions {
  /** The build: vmlinuz, initramfs.img and aios.iso (whose root is served). */
  out: string;
  bind: string;
  /** 0: any free port. */
  port: number;
  /** The base URL machines reach this server at (given the port it listens on); undefined: http://BIND:PORT. */
  publicUrl?: string | ((port: number) => string);
  /** The kernel command line of a network boot, from the base URL (common/netboot.ts netCmdline). */
  cmdline: (base: string) => string;
  onFetch?: (f: Fetch) => void;
}

export interface NetServer {
  base: string;
  /** The iPXE script's URL: what a machine's DHCP hands it as the boot file. */
  script: string;
  port: number;
  /** Whether it hands out an update (the build made a disk), and the network boot's root (the build made the ISO). */
  update: boolean;
  netboot: boolean;
  close: () => Promise<void>;
}

/** The host's loopback as QEMU's user network shows it to a guest. */
export const guestUrl = (port: number) => `http://10.0.2.2:${port}`;

/** A server of this build on loopback, for QEMU guests of this host (aios check's and aios run's network paths). */
export function serveToGuests(out: string, rootArgs: string, cmdline: string, onFetch: (f: Fetch) => void): Promise<NetServer> {
  return startNetServer({ out, bind: '127.0.0.1', port: 0, publicUrl: guestUrl, cmdline: (base) => netCmdline(base, rootArgs, cmdline), onFetch });
}

/** A fetch as `aios serve` prints it. */
export function fetchLine(f: Fetch, at = new Date()): string {
  return `${at.toISOString()} ${f.client} ${f.method} ${f.path} ${f.status} ${f.bytes} bytes`;
}

/** A single `bytes=A-B` range over a file of `size` bytes, or why it cannot be served; undefined: the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    // A suffix: the last N bytes.
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

/** What a name serves: a file, bytes read at the start, or a window of a file held open (the root inside the ISO or the disk). */
type Served = string | Buffer | { fd: number; offset: number; size: number };

/**
 * Serve a build for network boot and for updates over HTTP: the iPXE script, the kernel and
 * initramfs, the ISO's root (squashfs + its dm-verity tree, read where it lies in the ISO), and,
 * from a disk build, update.json with its signature, the slots' UKIs and slot A's content (read
 * where it lies in rootfs.img). Everything is opened or read at the start: a rebuild that replaces
 * the files does not change what this server hands out, nor mix two builds. Debian's iPXE binaries
 * too, for a site's TFTP server to chain from. Only these names, GET and HEAD, single ranges;
 * every fetch is reported with the client's address.
 */
export async function startNetServer(o: NetServerOptions): Promise<NetServer> {
  const iso = join(o.out, 'aios.iso');
  const files: Record<string, Served> = {
    [`/${NET_FILES.kernel}`]: join(o.out, 'vmlinuz'),
    [`/${NET_FILES.initrd}`]: join(o.out, 'initramfs.img'),
  };
  for (const f of Object.values(files) as string[])
    await stat(f).catch(() => Promise.reject(new Error(`${f} is missing: run \`aios build --out ${o.out}\` first`)));
  const held: FileHandle[] = [];
  try {
    // A build without the ISO (formats: ["disk"]) is served as an update only.
    if (existsSync(iso)) {
      const isoFile = await open(iso, 'r');
      held.push(isoFile);
      const extent = await isoRootExtent(iso);
      // The extent was read from the path; the descriptor must be the same file.
      await sameFile(iso, isoFile);
      files[`/${NET_FILES.root}`] = { fd: isoFile.fd, ...extent };
    }
    Object.assign(files, await updateFiles(o.out, held));
    if (!files[`/${NET_FILES.root}`] && !files[UPDATE_PATHS.manifest])
      throw new Error(`${o.out} has neither aios.iso (network boot) nor rootfs.img with update.json (updates): run \`aios build --out ${o.out}\` first`);
    // Debian's iPXE when it is installed (package ipxe): a network boot through QEMU's own needs none.
    for (const f of Object.values(IPXE_BINARIES)) if (existsSync(f)) files[`/${basename(f)}`] = f;
    let script = '';
    const server = createServer((req, res) => void handle(req, res, files, () => script, o.onFetch));
    server.keepAliveTimeout = 5000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.bind, () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const given = typeof o.publicUrl === 'function' ? o.publicUrl(port) : o.publicUrl;
    const base = (given ?? `http://${o.bind.includes(':') ? `[${o.bind}]` : o.bind}:${port}`).replace(/\/$/, '');
    if (files[`/${NET_FILES.root}`]) script = ipxeScript(base, o.cmdline(base));
    return {
      base,
      script: `${base}/${NET_FILES.script}`,
      port,
      update: UPDATE_PATHS.manifest in files,
      netboot: `/${NET_FILES.root}` in files,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        for (const h of held) await h.close();
      },
    };
  } catch (err) {
    for (const h of held) await h.close();
    throw err;
  }
}

async function sameFile(path: string, fh: FileHandle): Promise<void> {
  const [byPath, byFd] = await Promise.all([stat(path), fh.stat()]);
  if (byPath.ino !== byFd.ino || byPath.dev !== byFd.dev) throw new Error(`${path} was replaced while aios serve opened it: start it again`);
}

/**
 * A disk build's update: update.json and its signature and both UKIs read now, and slot A's
 * content (root + hash tree, update.json's byte count) as a window of rootfs.img. None when the
 * build made no disk.
 */
async function updateFiles(out: string, held: FileHandle[]): Promise<Record<string, Served>> {
  const disk = join(out, 'rootfs.img');
  if (!existsSync(join(out, 'update.json')) || !existsSync(disk)) return {};
  const read = (f: string) => readFile(join(out, f));
  const manifest = await read('update.json');
  const m = parseManifest(manifest.toString('utf8'), (t) => createHash('sha256').update(t).digest('hex'));
  if (typeof m === 'string') throw new Error(`${join(out, 'update.json')}: ${m}: build again`);
  const diskFile = await open(disk, 'r');
  held.push(diskFile);
  const [slotA] = await partitionsOf(disk);
  await sameFile(disk, diskFile);
  if (!slotA || slotA.size < m.root.bytes) throw new Error(`${disk} has no slot A of ${m.root.bytes} bytes as update.json says: build again`);
  return {
    [UPDATE_PATHS.manifest]: manifest,
    [UPDATE_PATHS.signature]: await read('update.json.sig'),
    [UPDATE_PATHS.uki('a')]: await read('aios-a.efi'),
    [UPDATE_PATHS.uki('b')]: await read('aios-b.efi'),
    [UPDATE_PATHS.root]: { fd: diskFile.fd, offset: slotA.start, size: m.root.bytes },
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  files: Record<string, Served>,
  script: () => string,
  onFetch?: (f: Fetch) => void,
): Promise<void> {
  const client = req.socket.remoteAddress ?? '?';
  const path = (req.url ?? '').split('?')[0]!;
  let bytes = 0;
  const done = (status: number) => onFetch?.({ client, method: req.method ?? '?', path, status, bytes });
  res.on('close', () => done(res.statusCode));
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { Allow: 'GET, HEAD' }).end();
  if (path === `/${NET_FILES.script}` && script()) {
    const body = script();
    bytes = req.method === 'HEAD' ? 0 : Buffer.byteLength(body);
    return void res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
  }
  const file = Object.hasOwn(files, path) ? files[path] : undefined;
  if (!file) return void res.writeHead(404).end();
  const size = typeof file === 'string' ? (await stat(file)).size : Buffer.isBuffer(file) ? file.length : file.size;
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') return void res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' };
  res.writeHead(range ? 206 : 200, range ? { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}` } : headers);
  if (req.method === 'HEAD' || size === 0) return void res.end();
  if (Buffer.isBuffer(file)) {
    bytes = end - start + 1;
    return void res.end(file.subarray(start, end + 1));
  }
  const stream =
    typeof file === 'string'
      ? createReadStream(file, { start, end })
      : createReadStream('', { fd: file.fd, autoClose: false, start: file.offset + start, end: file.offset + end });
  stream.on('data', (d) => (bytes += d.length));
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
