import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import * as tar from 'tar';

/** What the build keeps of an image's configuration (the `config` of its JSON). */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
}

export interface SavedImage {
  /** sha256 of the image configuration: the image ID that `docker images --no-trunc` shows. */
  id: string;
  tags: string[];
  config: ImageConfig;
  /** Layer tarballs inside the unpacked save, bottom first. */
  layers: string[];
}

export class ImageError extends Error {}

interface ManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/**
 * Read a `docker save` tarball (the legacy layout and the OCI one that newer engines write both
 * carry manifest.json) after unpacking it into `dir` with the npm tar package.
 */
export async function readSavedImage(tarball: string, dir: string, where: string): Promise<SavedImage> {
  await mkdir(dir, { recursive: true });
  try {
    await tar.x({ file: tarball, cwd: dir, strict: true });
  } catch (err) {
    throw new ImageError(`${where}: ${tarball} is not a readable tar archive (${(err as Error).message}); make it again with \`docker save -o FILE IMAGE\``);
  }
  const manifestFile = join(dir, 'manifest.json');
  if (!existsSync(manifestFile)) throw new ImageError(`${where}: ${tarball} has no manifest.json: it is not a \`docker save\` tarball`);
  let manifest: ManifestEntry[];
  try {
    manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as ManifestEntry[];
  } catch (err) {
    throw new ImageError(`${where}: manifest.json of ${tarball} is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(manifest) || manifest.length !== 1 || !manifest[0]?.Config || !Array.isArray(manifest[0].Layers))
    throw new ImageError(
      `${where}: ${tarball} must hold exactly one image (its manifest.json lists ${Array.isArray(manifest) ? manifest.length : 'no'} entries)`,
    );
  const m = manifest[0];
  const inside = (p: string) => {
    const n = normalize(p);
    if (n.startsWith('..') || n.startsWith('/')) throw new ImageError(`${where}: ${tarball} names ${p}, outside the archive`);
    if (!existsSync(join(dir, n))) throw new ImageError(`${where}: ${tarball} is incomplete: ${p} is missing (a truncated or corrupt save?)`);
    return join(dir, n);
  };
  const configBytes = await readFile(inside(m.Config));
  const config = (JSON.parse(configBytes.toString('utf8')) as { config?: ImageConfig }).config ?? {};
  return {
    id: `sha256:${createHash('sha256').update(configBytes).digest('hex')}`,
    tags: m.RepoTags ?? [],
    config,
    layers: m.Layers.map(inside),
  };
}

/** A cheap look at a `docker save` tarball before the build (a full read of the archive, nothing unpacked). */
export async function checkSavedImage(tarball: string, where: string): Promise<void> {
  const names: string[] = [];
  try {
    await tar.t({ file: tarball, strict: true, onReadEntry: (e) => void names.push(e.path) });
  } catch (err) {
    throw new ImageError(`${where}: ${tarball} is not a readable tar archive (${(err as Error).message}); make it again with \`docker save -o FILE IMAGE\``);
  }
  if (!names.some((n) => n.replace(/^\.\//, '') === 'manifest.json'))
    throw new ImageError(`${where}: ${tarball} has no manifest.json: it is not a \`docker save\` tarball`);
}

/** Whiteouts of one layer: `.wh.NAME` deletes NAME below it, `.wh..wh..opq` empties its directory. */
export function whiteouts(entries: readonly string[]): { remove: string[]; opaque: string[] } {
  const remove: string[] = [];
  const opaque: string[] = [];
  for (const e of entries) {
    const p = normalize(e.replace(/^\.\//, ''));
    const base = p.split('/').pop()!;
    if (base === '.wh..wh..opq') opaque.push(dirname(p));
    else if (base.startsWith('.wh.')) remove.push(join(dirname(p), base.slice(4)));
  }
  return { remove, opaque };
}

/** Apply the layers, bottom first, onto `dest`, as an overlay filesystem would stack them. */
export async function applyLayers(layers: readonly string[], dest: string): Promise<void> {
  await mkdir(dest, { recursive: true });
  for (const layer of layers) {
    const entries: string[] = [];
    await tar.t({ file: layer, strict: true, onReadEntry: (e) => void entries.push(e.path) });
    const { remove, opaque } = whiteouts(entries);
    for (const d of opaque) for (const f of await readdir(join(dest, d)).catch(() => [])) await rm(join(dest, d, f), { recursive: true, force: true });
    for (const r of remove) await rm(join(dest, r), { recursive: true, force: true });
    // Owners become root and modes stay: the image's numeric owners mean nothing in this root filesystem.
    await tar.x({ file: layer, cwd: dest, strict: true, preserveOwner: false, filter: (p) => !p.split('/').pop()!.startsWith('.wh.') });
  }
}

/**
 * An aios-init service that runs the image's Entrypoint + Cmd with its Env, in its WorkingDir,
 * chrooted into `path` unless the image was laid over `/`. chroot(8) moves to the new root's /,
 * so a WorkingDir below a chroot needs the image's own /bin/sh to get there (`imageHasShell`).
 */
export function serviceFromImage(
  name: string,
  path: string,
  c: ImageConfig,
  where: string,
  imageHasShell = false,
): { name: string; command: string; args: string[]; env: Record<string, string> } {
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (!argv.length)
    throw new ImageError(`${where}: the image has neither Entrypoint nor Cmd, so no service can be made from it; set service to "" or give the image a CMD`);
  const env = Object.fromEntries((c.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]).filter(([k]) => k));
  const root = path === '/' ? '' : path.replace(/\/+$/, '');
  const wd = c.WorkingDir || '/';
  const cdThenExec = ['-c', 'cd "$0" && exec "$@"', wd];
  if (!root) {
    if (wd === '/') {
      if (!argv[0]!.startsWith('/')) throw new ImageError(`${where}: the image's command ${argv[0]} is not an absolute path`);
      return { name, command: argv[0]!, args: argv.slice(1), env };
    }
    return { name, command: '/bin/sh', args: [...cdThenExec, ...argv], env };
  }
  if (wd === '/') return { name, command: '/usr/sbin/chroot', args: [root, ...argv], env };
  if (!imageHasShell)
    throw new ImageError(
      `${where}: the image's WorkingDir ${wd} can be honoured under the chroot ${root} only with the image's own /bin/sh, which it has not; add one, or set WORKDIR /`,
    );
  return { name, command: '/usr/sbin/chroot', args: [root, '/bin/sh', ...cdThenExec, ...argv], env };
}
