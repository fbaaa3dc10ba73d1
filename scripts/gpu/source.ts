import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../common/exec.ts';
import { fingerprintTree, sha256File } from '../lib/hash.ts';
import { openApt } from '../lib/apt.ts';
import { fetchDeb, type DebRef } from '../lib/debian.ts';
import { NVIDIA_OPEN, upstreamVersion } from './pins.ts';

/** Where the NVIDIA open modules' source comes from, identified for cache keys. */
export interface NvidiaSource {
  /** `debian` or the local tarball or directory given. */
  spec: string;
  from: string;
  /** Content id: the .deb's or tarball's sha256, or a directory's fingerprint. */
  id: string;
  kind: 'deb' | 'tarball' | 'dir';
  deb?: DebRef;
  path?: string;
}

/** Two layouts: Debian's kernel-open tree (Kbuild and nv-kernel.o_binary at the top) or NVIDIA's repository (kernel-open/ and src/). */
export type NvidiaLayout = 'kernel-open' | 'repository';

export function detectLayout(has: (rel: string) => boolean): NvidiaLayout | undefined {
  if (has('kernel-open/Kbuild') && has('src/nvidia')) return 'repository';
  if (has('Kbuild') && has('nvidia/nv-kernel.o_binary') && has('conftest.sh')) return 'kernel-open';
  return undefined;
}

/** The driver version a tree builds, from its Kbuild (`-DNV_VERSION_STRING=\"535.261.03\"`) or version.mk. */
export function parseDriverVersion(text: string): string | undefined {
  return /NV_VERSION_STRING=\\?"(\d+\.\d+(?:\.\d+)?)\\?"/.exec(text)?.[1] ?? /^NVIDIA_VERSION\s*=\s*(\d+\.\d+(?:\.\d+)?)\s*$/m.exec(text)?.[1];
}

export async function resolveNvidiaSource(
  spec: string,
  sha256: string,
  cacheDir: string,
  configFile: string,
  info: (m: string) => void,
): Promise<NvidiaSource> {
  if (spec === 'debian') {
    const repo = await openApt(cacheDir, info);
    const deb = await fetchDeb(NVIDIA_OPEN.sourcePackage, join(cacheDir, 'downloads'), info, { repo, version: NVIDIA_OPEN.version });
    return { spec, kind: 'deb', from: `Debian ${deb.package} ${deb.version}`, id: deb.sha256, deb };
  }
  // Already resolved against aios.json's directory (project/locate.ts).
  const path = spec;
  if (!existsSync(path))
    throw new Error(`${configFile}: gpu.nvidiaSource: ${path} does not exist; give a tarball or directory of NVIDIA's open GPU kernel modules, or "debian"`);
  if (!(await stat(path)).isDirectory()) {
    if (!sha256) throw new Error(`${configFile}: gpu.nvidiaSha256 is required for the tarball ${path} (an unverified module source is not built)`);
    const got = await sha256File(path);
    if (got !== sha256) throw new Error(`${configFile}: gpu.nvidiaSha256: ${path} has sha256 ${got}, not ${sha256}`);
    return { spec, kind: 'tarball', from: path, id: got, path };
  }
  return { spec, kind: 'dir', from: path, id: await fingerprintTree(path, (rel) => rel.endsWith('.o') || rel.endsWith('.ko') || rel.includes('.tmp')), path };
}

/** Lay the source out in `dir` and return the tree to build and its layout. */
export async function unpackNvidiaSource(src: NvidiaSource, dir: string): Promise<{ tree: string; kbuildDir: string; layout: NvidiaLayout; driver: string }> {
  await mkdir(dir, { recursive: true });
  if (src.kind === 'deb') {
    await run('sh', ['-c', `dpkg-deb --fsys-tarfile "$1" | tar -xf - -C "$2" ./${NVIDIA_OPEN.tarball}`, 'sh', src.deb!.deb, dir]);
    await run('tar', ['-xf', join(dir, NVIDIA_OPEN.tarball), '-C', dir]);
  } else if (src.kind === 'dir') {
    // A copy: the build writes objects and conftest results into the tree, never into the user's.
    await cp(src.path!, join(dir, 'src'), { recursive: true });
  } else {
    await run('tar', ['-xf', src.path!, '-C', dir]);
  }
  const tree = await findTree(dir);
  if (!tree) throw new Error(`${src.from} holds no NVIDIA open GPU kernel modules tree (Kbuild with nvidia/nv-kernel.o_binary, or kernel-open/ with src/)`);
  const kbuildDir = tree.layout === 'repository' ? join(tree.dir, 'kernel-open') : tree.dir;
  const text = await readFile(join(kbuildDir, 'Kbuild'), 'utf8');
  const versionMk = existsSync(join(tree.dir, 'version.mk')) ? await readFile(join(tree.dir, 'version.mk'), 'utf8') : '';
  const driver = parseDriverVersion(text) ?? parseDriverVersion(versionMk);
  if (!driver) throw new Error(`${src.from}: cannot tell the driver version (no NV_VERSION_STRING in ${join(kbuildDir, 'Kbuild')})`);
  if (src.deb && driver !== upstreamVersion(src.deb.version)) throw new Error(`${src.from} builds driver ${driver}, not ${upstreamVersion(src.deb.version)}`);
  return { tree: tree.dir, kbuildDir, layout: tree.layout, driver };
}

/** The top of the modules' tree: `dir` itself or a directory up to three levels below it. */
async function findTree(dir: string, depth = 0): Promise<{ dir: string; layout: NvidiaLayout } | undefined> {
  const layout = detectLayout((rel) => existsSync(join(dir, rel)));
  if (layout) return { dir, layout };
  if (depth >= 3) return undefined;
  for (const e of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const found = await findTree(join(dir, e.name), depth + 1);
    if (found) return found;
  }
  return undefined;
}
