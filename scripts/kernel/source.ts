import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { run } from '../../common/exec.ts';
import { fingerprintTree, sha256File } from '../lib/hash.ts';
import { renameInto, withTempDir } from '../lib/atomic.ts';
import { download, type DownloadOptions } from '../net/download.ts';
import { fetchDeb } from '../lib/debian.ts';
import { KERNEL_ORG_SHA256, kernelOrgUrl } from './pins.ts';

export type SourceOrigin = 'kernel.org' | 'debian' | 'path' | 'url';

export interface KernelSource {
  /** The version really built, read from the tree's Makefile. */
  version: string;
  requestedVersion: string;
  origin: SourceOrigin;
  /** URL, Debian package and version, or path it came from. */
  from: string;
  /** sha256 of the tarball (or of the .deb for Debian), checked again each time it is used. */
  sha256: string;
  /** What identifies the content for cache keys: the sha256, or for a tree the user edits in place, its fingerprint. */
  id: string;
  tarball?: string;
  dir: string;
  fellBack: boolean;
  /** Why `auto` did not get the version asked for from kernel.org. */
  fallbackReason?: string;
}

export interface SourceOptions {
  cacheDir: string;
  spec: string; // auto | kernel.org | debian | PATH | URL
  version: string;
  mirror: string;
  sha256?: string;
  debianPackage: string;
  warn: (msg: string) => void;
  info: (msg: string) => void;
  onProgress?: DownloadOptions['onProgress'];
}

interface Stamp {
  sha256: string;
  version: string;
}

const STAMP = '.aios-source.json';

/**
 * The release a tree builds, as its own Makefile says (`make -s kernelversion`). The fallback
 * parser matches one line only: an empty `EXTRAVERSION =` must not swallow the next line.
 */
export async function makefileVersion(dir: string): Promise<string> {
  const text = await readFile(join(dir, 'Makefile'), 'utf8').catch(() => {
    throw new Error(`${dir} is not a kernel source tree: it has no Makefile`);
  });
  const fromMake = await run('make', ['-s', '-C', dir, 'kernelversion'], { env: { LC_ALL: 'C' } }).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (/^\d+\.\d+(\.\d+)?\S*$/.test(fromMake)) return fromMake;
  return parseMakefileVersion(text, dir);
}

export function parseMakefileVersion(text: string, where: string): string {
  const get = (k: string) => new RegExp(`^${k}[ \\t]*=[ \\t]*(\\S*)[ \\t]*$`, 'm').exec(text)?.[1] ?? '';
  const v = `${get('VERSION')}.${get('PATCHLEVEL')}.${get('SUBLEVEL')}`;
  if (v.startsWith('.')) throw new Error(`${where}/Makefile has no VERSION: not a kernel source tree`);
  return `${v}${get('EXTRAVERSION')}`;
}

/** Unpack a verified tarball into the cache (once), named by the version inside it. */
export async function unpackTarball(tarball: string, sha256: string, cacheDir: string, suffix = ''): Promise<{ dir: string; version: string }> {
  const sources = join(cacheDir, 'sources');
  await mkdir(sources, { recursive: true });
  for (const name of await readdir(sources)) {
    const stamp = await readStamp(join(sources, name));
    if (stamp?.sha256 === sha256) return { dir: join(sources, name), version: stamp.version };
  }
  // Ctrl-C, SIGTERM or SIGHUP mid-unpack leaves nothing: the temporary tree is removed on exit.
  return withTempDir(join(sources, 'unpack'), async (tmp) => {
    await run('tar', ['-xf', tarball, '-C', tmp]);
    const [top, ...more] = await readdir(tmp);
    if (!top || more.length) throw new Error(`${tarball}: expected one top-level directory, found ${[top, ...more].join(', ')}`);
    const version = await makefileVersion(join(tmp, top));
    const dir = join(sources, `linux-${version}${suffix}`);
    await writeFile(join(tmp, top, STAMP), JSON.stringify({ sha256, version } satisfies Stamp));
    await renameInto(join(tmp, top), dir);
    return { dir, version };
  });
}

async function readStamp(dir: string): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, STAMP), 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

/** The cache is trusted only after the tarball it came from hashes to the recorded value again. */
export async function verifyCached(src: KernelSource): Promise<boolean> {
  if (src.origin === 'path' && !src.tarball) return existsSync(join(src.dir, 'Makefile'));
  if (!src.tarball || !existsSync(src.tarball)) return false;
  const stamp = await readStamp(src.dir);
  if (!stamp || stamp.sha256 !== src.sha256) return false;
  return (await sha256File(src.tarball)) === src.sha256;
}

async function fromKernelOrg(o: SourceOptions): Promise<KernelSource> {
  const pinned = o.sha256 || KERNEL_ORG_SHA256[o.version];
  const url = kernelOrgUrl(o.mirror, o.version);
  if (!pinned) {
    throw new Error(
      `no sha256 is pinned for linux-${o.version}.tar.xz (scripts/kernel/pins.ts): pass --kernel-sha256 HEX or set kernel.sha256 in aios.json; an unverified kernel is not built`,
    );
  }
  const tarball = join(o.cacheDir, 'downloads', `linux-${o.version}.tar.xz`);
  await mkdir(join(o.cacheDir, 'downloads'), { recursive: true });
  if (!(existsSync(tarball) && (await sha256File(tarball)) === pinned)) {
    await rm(tarball, { force: true });
    o.info(`downloading ${url}`);
    await download(url, tarball, { sha256: pinned, onProgress: o.onProgress });
  }
  const { dir, version } = await unpackTarball(tarball, pinned, o.cacheDir);
  return { version, requestedVersion: o.version, origin: 'kernel.org', from: url, sha256: pinned, id: pinned, tarball, dir, fellBack: false };
}

async function fromDebian(o: SourceOptions): Promise<KernelSource> {
  const downloads = join(o.cacheDir, 'downloads');
  const { deb, version: debVersion, sha256: debSha } = await fetchDeb(o.debianPackage, downloads, o.info);
  const tarball = join(downloads, `${o.debianPackage}_${debVersion}.tar.xz`);
  if (!existsSync(tarball)) {
    await withTempDir(join(downloads, 'deb'), async (tmp) => {
      await run('dpkg-deb', ['-x', deb, tmp]);
      await rename(join(tmp, 'usr', 'src', `${o.debianPackage}.tar.xz`), tarball);
    });
  }
  const sha = await sha256File(tarball);
  const { dir, version } = await unpackTarball(tarball, sha, o.cacheDir);
  return {
    version,
    requestedVersion: o.version,
    origin: 'debian',
    from: `${o.debianPackage} ${debVersion} (sha256 ${debSha})`,
    sha256: sha,
    tarball,
    dir,
    id: sha,
    fellBack: false,
  };
}

async function fromPath(o: SourceOptions, path: string): Promise<KernelSource> {
  const abs = resolve(path);
  const st = await stat(abs).catch(() => {
    throw new Error(`--kernel-source ${path}: no such file or directory`);
  });
  if (st.isDirectory()) {
    const version = await makefileVersion(abs);
    // Keyed by content, not by path: an edited file in the tree makes new steps.
    const id = `tree-${await fingerprintTree(abs, (rel) => rel.startsWith('.git/'))}`;
    return { version, requestedVersion: o.version, origin: 'path', from: abs, sha256: '', id, dir: abs, fellBack: false };
  }
  const sha = await sha256File(abs);
  if (o.sha256 && sha !== o.sha256) throw new Error(`checksum mismatch for ${abs}: expected sha256 ${o.sha256}, got ${sha}; refused`);
  const { dir, version } = await unpackTarball(abs, sha, o.cacheDir, `-${sha.slice(0, 12)}`);
  return { version, requestedVersion: o.version, origin: 'path', from: abs, sha256: sha, id: sha, tarball: abs, dir, fellBack: false };
}

async function fromUrl(o: SourceOptions, url: string): Promise<KernelSource> {
  const tarball = join(o.cacheDir, 'downloads', basename(new URL(url).pathname) || 'kernel.tar');
  await mkdir(join(o.cacheDir, 'downloads'), { recursive: true });
  if (!o.sha256) o.warn(`no --kernel-sha256 given for ${url}: the download is recorded but not verified`);
  const { sha256 } = await download(url, tarball, { sha256: o.sha256 || undefined, onProgress: o.onProgress });
  const { dir, version } = await unpackTarball(tarball, sha256, o.cacheDir, `-${sha256.slice(0, 12)}`);
  return { version, requestedVersion: o.version, origin: 'url', from: url, sha256, id: sha256, tarball, dir, fellBack: false };
}

/** Find the kernel source the options ask for; `auto` tries kernel.org, then Debian's package. */
export async function resolveKernelSource(o: SourceOptions): Promise<KernelSource> {
  const spec = o.spec;
  if (spec === 'kernel.org') return fromKernelOrg(o);
  if (spec === 'debian') return fromDebian(o);
  if (/^https?:\/\//.test(spec)) return fromUrl(o, spec);
  if (spec !== 'auto') return fromPath(o, spec);
  try {
    return await fromKernelOrg(o);
  } catch (err) {
    const src = await fromDebian(o);
    return { ...src, fellBack: true, fallbackReason: `kernel.org: ${(err as Error).message}` };
  }
}

export function fallbackWarning(src: KernelSource): string | undefined {
  if (src.version === src.requestedVersion) return undefined;
  const why = src.fallbackReason ? ` because ${src.fallbackReason}` : '';
  return `!!! Linux ${src.requestedVersion} was asked for, but Linux ${src.version} is being built (from ${src.origin}: ${src.from})${why}. build.json records ${src.version}.`;
}
