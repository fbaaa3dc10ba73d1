import { existsSync, lstatSync, statSync } from 'node:fs';
import { lstat, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectConfig } from './config.ts';
import { openApt } from '../lib/apt.ts';
import type { DebRef } from '../lib/debian.ts';
import { sha256File } from '../lib/hash.ts';
import { applyLayers, checkSavedImage, readSavedImage, serviceFromImage, type ImageFiles, type ImageService } from './container.ts';
import { engineImageId, exportImage } from './docker-engine.ts';
import { checkHook } from './hooks.ts';
import { downloadPackages, resolvePackages, unpackPackage } from './packages.ts';
import { mergeInto, pathInside, type Allowed } from '../rootfs/confine.ts';

/** An image of aios.json's `images`, identified for the cache key before the step runs. */
export interface ResolvedImage {
  index: number;
  ref: string;
  tarball: string;
  id: string;
  path: string;
  service: string;
}

/** Everything of the user's project that goes into the root filesystem, resolved and checked up front. */
export interface ProjectInputs {
  overlays: string[];
  packages: DebRef[];
  images: ResolvedImage[];
  /** The privileged entries aios.json declares (`allow`). */
  allow: Allowed;
}

export async function resolveProjectInputs(c: ProjectConfig, configFile: string, cacheDir: string, info: (m: string) => void): Promise<ProjectInputs> {
  c.overlay.forEach((o, i) => {
    if (!existsSync(o) || !statSync(o).isDirectory())
      throw new Error(`${configFile}: overlay[${i}]: ${o} is not a directory; create it or remove it from \`overlay\``);
  });
  checkHook('postinst', c.hooks.postinst, configFile);
  checkHook('finalize', c.hooks.finalize, configFile);
  let packages: DebRef[] = [];
  if (c.packages.length) {
    const repo = await openApt(cacheDir, info);
    const resolved = await resolvePackages(repo, c.packages, `${configFile}: packages`);
    info(`packages: ${resolved.map((p) => `${p.name} ${p.version}`).join(', ')}`);
    packages = await downloadPackages(repo, resolved, cacheDir, info);
  }
  const images: ResolvedImage[] = [];
  for (const [index, img] of c.images.entries()) {
    const where = `${configFile}: images[${index}]`;
    // ref xor tarball and an absolute path were checked with the rest of aios.json (project/config.ts).
    if (img.tarball && !existsSync(img.tarball)) throw new Error(`${where}.tarball: ${img.tarball} does not exist`);
    if (img.tarball) await checkSavedImage(img.tarball, where);
    const id = img.tarball ? `file:${await sha256File(img.tarball)}` : await engineImageId(img.ref, where);
    images.push({ index, ref: img.ref, tarball: img.tarball, id, path: img.path, service: img.service });
  }
  return { overlays: c.overlay, packages, images, allow: { setuid: [...c.allow.setuid].sort(), devices: [...c.allow.devices].sort() } };
}

/** What the key of the rootfs step takes from the project inputs: content, never cache paths. */
export function projectKey(p: ProjectInputs): Record<string, unknown> {
  return {
    packages: p.packages.map((d) => `${d.package}=${d.version}@${d.sha256}`),
    images: p.images.map(({ index, ref, id, path, service }) => ({ index, ref, id, path, service })),
    allow: p.allow,
  };
}

/**
 * An image's own files, for the service made from it: its entries as they lie in the tree (a link
 * counts as there, as execvp would try it), and its passwd and group when they are plain files.
 */
async function imageFiles(tree: string, at: string, where: string): Promise<ImageFiles> {
  const base = at.replace(/\/+$/, '');
  const read = async (f: string) => {
    const p = await pathInside(tree, `${base}${f}`, where).catch(() => undefined);
    const st = p ? await lstat(p).catch(() => undefined) : undefined;
    return st?.isFile() ? readFile(p!, 'utf8') : '';
  };
  return {
    exists: (p) => lstatSync(join(tree, base, p), { throwIfNoEntry: false }) !== undefined,
    passwd: await read('/etc/passwd'),
    group: await read('/etc/group'),
  };
}

/** Packages, then images, then the overlays (the user's files win), into the staged tree; returns the image services. */
export async function applyProjectInputs(
  p: ProjectInputs,
  tree: string,
  scratch: string,
  cacheDir: string,
  configFile: string,
  info: (m: string) => void,
): Promise<{ services: ImageService[]; images: { ref: string; tarball: string; id: string; tags: string[]; path: string }[] }> {
  if (p.packages.length) {
    // Files only: no maintainer script runs, so nothing a postinst of Debian's would create exists.
    info(`dpkg-deb -x: ${p.packages.length} Debian packages (maintainer scripts are not run)`);
    for (const d of p.packages) {
      const staged = join(scratch, `deb-${d.package}`);
      await unpackPackage(d, staged);
      await mergeInto(tree, staged, {
        input: `${configFile}: packages: ${d.package} ${d.version}`,
        prefix: '/',
        allow: p.allow,
        move: true,
        fix: "Leave the package out, or declare its privileged files in aios.json's `allow` (they run as root in the image).",
      });
      await rm(staged, { recursive: true, force: true });
    }
  }
  const services = [];
  const images = [];
  for (const img of p.images) {
    const where = `${configFile}: images[${img.index}]`;
    let tarball = img.tarball;
    if (!tarball) {
      tarball = join(cacheDir, 'downloads', 'images', `${img.id.replace(/[^A-Za-z0-9]/g, '_')}.tar`);
      await mkdir(join(cacheDir, 'downloads', 'images'), { recursive: true });
      if (!existsSync(tarball)) {
        info(`docker save ${img.ref} (through the engine's API)`);
        await exportImage(img.ref, tarball, where);
      }
    }
    const unpacked = join(scratch, `image-${img.index}`);
    const saved = await readSavedImage(tarball, unpacked, where);
    info(`image ${img.ref || img.tarball} (${saved.id.slice(0, 19)}): ${saved.layers.length} layers onto ${img.path}`);
    await applyLayers(saved.layers, tree, {
      prefix: img.path,
      where: `${where} (${img.ref || img.tarball})`,
      scratch: join(scratch, `layers-${img.index}`),
      allow: p.allow,
    });
    await rm(unpacked, { recursive: true, force: true });
    if (img.service) services.push(serviceFromImage(img.service, img.path, saved.config, where, await imageFiles(tree, img.path, where)));
    images.push({ ref: img.ref, tarball: img.tarball, id: saved.id, tags: saved.tags, path: img.path });
  }
  for (const o of p.overlays) {
    info(`overlay ${o}`);
    await mergeInto(tree, o, { input: `${configFile}: overlay ${o}`, prefix: '/', allow: p.allow, move: false });
  }
  return { services, images };
}
