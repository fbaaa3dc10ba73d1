import { toolVersion } from '../host/tools.ts';
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { run } from '../../common/exec.ts';
import { unpackOnce } from '../lib/unpack-once.ts';
import type { DownloadOptions } from '../net/download.ts';
import { fetchNpmTarball } from '../net/npm-tarball.ts';
import { GUEST_NODE, type NodePin } from './node-pins.ts';

export type NodeOrigin = 'npm' | 'host' | 'path';

/** The node binary that aios-init is made of. */
export interface GuestNode {
  origin: NodeOrigin;
  /** Package and version, or the path it came from. */
  from: string;
  binary: string;
  /** As `node --version` prints it (`v22.23.5`). */
  version: string;
}

export interface GuestNodeOptions {
  cacheDir: string;
  /** `npm` (the pinned package), `host` (the Node running aios), or the path of a node binary. */
  spec: string;
  registry: string;
  pin?: NodePin;
  info: (m: string) => void;
  onProgress?: DownloadOptions['onProgress'];
}

/** aios-init needs `node:sea`'s assets and the SEA's code cache: Node 20 or later. */
export function checkNodeVersion(version: string, where: string): string {
  const major = /^v(\d+)\.\d+\.\d+/.exec(version)?.[1];
  if (!major) throw new Error(`${where}: \`--version\` printed "${version}", not a Node.js version`);
  if (Number(major) < 20) throw new Error(`${where} is Node.js ${version}: aios-init needs Node.js 20 or later (single-executable assets)`);
  return version;
}

async function versionOf(binary: string): Promise<string> {
  // Asked once per binary (tool versions are remembered by path, size and mtime).
  return checkNodeVersion((await toolVersion(binary)) ?? '', binary);
}

async function fromNpm(o: GuestNodeOptions): Promise<GuestNode> {
  const pin = o.pin ?? GUEST_NODE;
  const { tgz, url } = await fetchNpmTarball({ ...o, pin, pinFile: 'scripts/sea/node-pins.ts' }).catch((err: Error) => {
    throw new Error(
      `${err.message} (init.node "npm"; with no registry to reach, set init.node to "host" in aios.json to make aios-init of the Node that runs aios)`,
    );
  });
  const dir = await unpackOnce({ cacheDir: o.cacheDir, name: `node-${pin.version}`, id: pin.integrity, stamp: '.aios-node.json' }, async (tmp) => {
    o.info(`unpacking ${pin.binary} of ${pin.pkg}@${pin.version}`);
    await run('tar', ['-xzf', tgz, '-C', tmp, pin.binary]);
    return join(tmp, dirname(pin.binary));
  });
  const binary = join(dir, basename(pin.binary));
  const version = await versionOf(binary);
  if (version !== `v${pin.version}`) throw new Error(`${pin.pkg}@${pin.version}: its node says ${version}`);
  return { origin: 'npm', from: `${pin.pkg}@${pin.version} (${url})`, binary, version };
}

/** The node binary aios-init is made of: the pinned package, the host's Node, or a binary given by path. */
export async function resolveGuestNode(o: GuestNodeOptions): Promise<GuestNode> {
  if (o.spec === 'npm') return fromNpm(o);
  if (o.spec === 'host')
    return { origin: 'host', from: process.execPath, binary: process.execPath, version: checkNodeVersion(process.version, process.execPath) };
  const binary = resolve(o.spec);
  const st = await stat(binary).catch(() => undefined);
  if (!st?.isFile()) throw new Error(`init.node ${o.spec}: no such file (use "npm", "host", or the path of a node binary)`);
  return { origin: 'path', from: binary, binary, version: await versionOf(binary) };
}
