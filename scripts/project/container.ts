import { parseGroup, parsePasswd } from '../../common/service-user.ts';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, normalize, posix } from 'node:path';
import * as tar from 'tar';
import {
  imagePath,
  entryProblem,
  mergeInto,
  mkdirInside,
  nameProblem,
  NOTHING_ALLOWED,
  pathInside,
  putSpecial,
  refuse,
  relName,
  showName,
  type Allowed,
  type EntryKind,
} from '../rootfs/confine.ts';

/** What the build keeps of an image's configuration (the `config` of its JSON). */
export interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
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
    const p = relName(e);
    const base = p.split('/').pop()!;
    const dir = p.slice(0, p.length - base.length).replace(/\/$/, '');
    if (base === '.wh..wh..opq') opaque.push(dir);
    else if (base.startsWith('.wh.')) remove.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
  }
  return { remove, opaque };
}

/** One entry of a layer as its tar header has it. */
export interface LayerEntry {
  path: string;
  type: string;
  mode: number;
  linkpath?: string;
  devmaj?: number;
  devmin?: number;
}

const KINDS: Record<string, EntryKind> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  CharacterDevice: 'char',
  BlockDevice: 'block',
  FIFO: 'fifo',
};

export async function listLayer(layer: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  await tar.t({
    file: layer,
    strict: true,
    onReadEntry: (e) =>
      void entries.push({ path: e.path, type: e.type, mode: e.mode ?? 0, linkpath: e.linkpath, devmaj: e.header.devmaj, devmin: e.header.devmin }),
  });
  return entries;
}

/** Every entry of a layer that cannot enter the image (laid at `prefix`), as `"path": reason` lines. */
export function layerProblems(entries: readonly LayerEntry[], prefix: string, allow: Allowed): string[] {
  const problems: string[] = [];
  // Links of this layer: node-tar is told to keep link targets as they are (preservePaths), so the
  // check that nothing of the layer is extracted through one of them is made here.
  const links = new Set(entries.filter((e) => KINDS[e.type] === 'symlink').map((e) => relName(e.path)));
  const throughLink = (rel: string) => {
    const parts = rel.split('/');
    return parts
      .slice(0, -1)
      .map((_, i) => parts.slice(0, i + 1).join('/'))
      .find((p) => links.has(p));
  };
  for (const e of entries) {
    const rel = relName(e.path);
    const kind = KINDS[e.type];
    const named = nameProblem(rel);
    const shown = showName(named ? e.path : imagePath(prefix, rel));
    const link = kind === 'hardlink' ? relName(e.linkpath ?? '') : undefined;
    const via = throughLink(rel);
    const linkVia = link ? throughLink(`${link}/x`) : undefined;
    const why =
      (kind ? entryProblem(rel, kind, e.mode, prefix, allow) : (named ?? `is a tar entry of type ${e.type}, which a layer does not hold`)) ??
      (link !== undefined && nameProblem(link) ? `is a hard link to ${showName(e.linkpath ?? '')}, outside the layer` : undefined) ??
      (via ? `would be written through ${showName(imagePath(prefix, via))}, a link of the same layer` : undefined) ??
      (linkVia ? `is a hard link through ${showName(imagePath(prefix, linkVia))}, a link of the same layer` : undefined);
    if (why) problems.push(`${shown} ${why}`);
  }
  return problems;
}

const LAYER_FIX = 'Rebuild the image without those entries, or declare the privileged ones in aios.json (`allow.setuid`, `allow.devices`).';

/**
 * Apply the layers, bottom first, at `prefix` of the root tree, as an overlay filesystem would
 * stack them. Each layer is checked whole before anything of it is applied; its whiteouts are
 * resolved inside the tree; it is extracted into `scratch` and merged through confine.ts.
 */
export async function applyLayers(
  layers: readonly string[],
  tree: string,
  o: { prefix: string; where: string; scratch: string; allow?: Allowed },
): Promise<void> {
  const allow = o.allow ?? NOTHING_ALLOWED;
  await mkdirInside(tree, o.prefix, o.where);
  for (const [i, layer] of layers.entries()) {
    const input = `${o.where}: layer ${i + 1} of ${layers.length}`;
    const entries = await listLayer(layer);
    refuse(input, layerProblems(entries, o.prefix, allow), LAYER_FIX);
    const { remove, opaque } = whiteouts(entries.map((e) => e.path));
    for (const d of opaque) {
      const real = await pathInside(tree, imagePath(o.prefix, d), input);
      if (!(await lstat(real).catch(() => undefined))?.isDirectory()) continue;
      for (const f of await readdir(real)) await rm(join(real, f), { recursive: true, force: true });
    }
    for (const r of remove) await rm(await pathInside(tree, imagePath(o.prefix, r), input), { recursive: true, force: true });
    const staged = join(o.scratch, `layer-${i}`);
    await mkdir(staged, { recursive: true });
    const special = (type: string) => ['char', 'block', 'fifo'].includes(KINDS[type] ?? '');
    // Owners become root and modes stay: the image's numeric owners mean nothing in this root filesystem.
    await tar.x({
      file: layer,
      cwd: staged,
      strict: true,
      preserveOwner: false,
      // Link targets as the image has them (`/usr/bin/awk -> /etc/alternatives/awk`): every entry
      // name and every write through a link was checked above, and staged is empty.
      preservePaths: true,
      // node-tar makes no device nodes: the allowed ones are made below with mknod.
      filter: (p, e) => !p.split('/').pop()!.startsWith('.wh.') && !('type' in e && special(e.type)),
    });
    await mergeInto(tree, staged, { input, prefix: o.prefix, allow, move: true, fix: LAYER_FIX });
    for (const e of entries.filter((x) => special(x.type))) {
      const kind = KINDS[e.type] as 'char' | 'block' | 'fifo';
      await mkdirInside(tree, posix.dirname(imagePath(o.prefix, relName(e.path))), input);
      await putSpecial(kind, e.mode, { major: e.devmaj ?? 0, minor: e.devmin ?? 0 }, await pathInside(tree, imagePath(o.prefix, relName(e.path)), input));
    }
    await rm(staged, { recursive: true, force: true });
  }
}

/** What of an image's own files a service made from it needs: whether an entry is there, its passwd and group. */
export interface ImageFiles {
  exists(path: string): boolean;
  passwd: string;
  group: string;
}

/** A service made from an image, as init.json takes it. */
export interface ImageService {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  user?: string;
  rootDirectory?: string;
  workingDirectory?: string;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The image's command as a path inside it: a bare name searched on its PATH, as docker's exec would (execvp). */
function imageCommand(cmd: string, path: string | undefined, wd: string, files: ImageFiles, where: string): string {
  if (cmd.startsWith('/')) return cmd;
  if (cmd.includes('/')) return `${wd.replace(/\/+$/, '')}/${cmd.replace(/^\.\//, '')}`;
  const dirs = (path || DEFAULT_PATH).split(':').filter((d) => d.startsWith('/'));
  const found = dirs.map((d) => `${d.replace(/\/+$/, '')}/${cmd}`).find((p) => files.exists(p));
  if (!found) throw new ImageError(`${where}: the image's command ${cmd} is on none of its PATH's directories (${dirs.join(':')})`);
  return found;
}

/**
 * The user a service from the image runs as: the image's `User`, its names looked up in the
 * image's own /etc/passwd and /etc/group (so the service's ids are the image's, whatever the
 * aiOS image calls them), as uid:gid. None, or root: the service's own system user (empty here),
 * since aiOS runs no image as root.
 */
export function imageUser(user: string, files: ImageFiles, where: string): string {
  const [u = '', g] = user.split(':');
  const passwd = parsePasswd(files.passwd);
  const entry = /^\d+$/.test(u) ? passwd.find((p) => p.uid === Number(u)) : passwd.find((p) => p.name === u);
  const uid = /^\d+$/.test(u) ? Number(u) : entry?.uid;
  if (!u || uid === 0) return '';
  if (uid === undefined) throw new ImageError(`${where}: the image's User ${user}: no user ${u} in the image's /etc/passwd`);
  let gid = entry?.gid ?? uid;
  if (g) {
    const group = /^\d+$/.test(g) ? { gid: Number(g) } : parseGroup(files.group).find((x) => x.name === g);
    if (!group) throw new ImageError(`${where}: the image's User ${user}: no group ${g} in the image's /etc/group`);
    gid = group.gid;
  }
  return `${uid}:${gid}`;
}

/**
 * An aios-init service that runs the image's Entrypoint + Cmd with its Env, as its User, in its
 * WorkingDir, seeing `path` as / when the image was laid below / (aios-init's chroot, made before
 * the user changes: no chroot(8) and no root needed for it).
 */
export function serviceFromImage(name: string, path: string, c: ImageConfig, where: string, files: ImageFiles): ImageService {
  const argv = [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])];
  if (!argv.length)
    throw new ImageError(`${where}: the image has neither Entrypoint nor Cmd, so no service can be made from it; set service to "" or give the image a CMD`);
  const env = Object.fromEntries((c.Env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]).filter(([k]) => k));
  const root = path === '/' ? '' : path.replace(/\/+$/, '');
  const wd = c.WorkingDir || '/';
  if (!wd.startsWith('/')) throw new ImageError(`${where}: the image's WorkingDir ${wd} is not an absolute path`);
  const user = imageUser(c.User ?? '', files, where);
  return {
    name,
    command: imageCommand(argv[0]!, env.PATH, wd, files, where),
    args: argv.slice(1),
    env,
    ...(user ? { user } : {}),
    ...(root ? { rootDirectory: root } : {}),
    ...(wd !== '/' ? { workingDirectory: wd } : {}),
  };
}
