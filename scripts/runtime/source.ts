import { mkdir, readdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { run } from '../../common/exec.ts';
import { fingerprintTree, sha256File } from '../lib/hash.ts';
import { unpackOnce } from '../lib/unpack-once.ts';
import { download, type DownloadOptions } from '../net/download.ts';
import { NODE_LLAMA_CPP, type NpmLlamaPin } from './pins.ts';
import { fetchNpmTarball } from '../net/npm-tarball.ts';
import { cutTreeVariants, VARIANT_CUT_ID } from './cpu-variants.ts';
import { applyCudaCompat, CUDA_COMPAT_ID } from './cuda-compat.ts';

export type LlamaOrigin = 'npm' | 'path' | 'url';

export interface LlamaSource {
  origin: LlamaOrigin;
  /** Package and version, URL, or path it came from. */
  from: string;
  /** What identifies the content: the package integrity, a tarball's sha256, or a tree fingerprint. */
  id: string;
  /** git commit of the tree when known. */
  commit?: string;
  dir: string;
}

export interface LlamaSourceOptions {
  cacheDir: string;
  /** `npm` (the pinned node-llama-cpp bundle), a local tarball or directory, or a URL. */
  spec: string;
  sha256?: string;
  registry: string;
  pin?: NpmLlamaPin;
  info: (m: string) => void;
  onProgress?: DownloadOptions['onProgress'];
}

/**
 * Unpack once (lib/unpack-once.ts), refusing a tree that is not llama.cpp's, and cut the CPU
 * variants no server needs (runtime/cpu-variants.ts) from the copy aiOS owns, make its CUDA
 * backend build with CUDA 11.8 (runtime/cuda-compat.ts); `id` names the edits.
 */
function unpackLlama(cacheDir: string, id: string, info: (m: string) => void, fill: (tmp: string) => Promise<string>): Promise<string> {
  return unpackOnce({ cacheDir, name: 'llama.cpp', id, stamp: '.aios-llama-source.json' }, async (tmp) => {
    const tree = await fill(tmp);
    if (!existsSync(join(tree, 'CMakeLists.txt')) || !existsSync(join(tree, 'tools', 'server')))
      throw new Error(`${tree} is not a llama.cpp tree: it lacks CMakeLists.txt or tools/server`);
    const removed = await cutTreeVariants(tree);
    if (removed.length) info(`ggml CPU variants not built: ${removed.join(', ')}`);
    if (await applyCudaCompat(tree)) info('ggml CUDA: programmatic dependent launch left to CUDA 12 (runtime/cuda-compat.ts)');
    return tree;
  });
}

/** A tree aiOS unpacked: the edits made to it and the content's id (whose end names directories). */
const cutId = (contentId: string): string => `${VARIANT_CUT_ID}+${CUDA_COMPAT_ID}+${contentId}`;

async function gitHead(dir: string): Promise<string | undefined> {
  return run('git', ['-C', dir, 'rev-parse', 'HEAD']).then(
    (r) => r.stdout.trim(),
    () => undefined,
  );
}

async function fromNpm(o: LlamaSourceOptions): Promise<LlamaSource> {
  const pin = o.pin ?? NODE_LLAMA_CPP;
  const { tgz, url } = await fetchNpmTarball({ ...o, pin, pinFile: 'scripts/runtime/pins.ts' });
  const dir = await unpackLlama(o.cacheDir, cutId(pin.integrity), o.info, async (tmp) => {
    o.info(`unpacking ${pin.bundle} and cloning it`);
    await run('tar', ['-xzf', tgz, '-C', tmp, pin.bundle]);
    const tree = join(tmp, 'llama.cpp');
    await run('git', ['clone', '--quiet', join(tmp, pin.bundle), tree]);
    const head = await gitHead(tree);
    if (head !== pin.commit) throw new Error(`${pin.pkg}@${pin.version}: its bundle holds commit ${head ?? '(none)'}, the pin says ${pin.commit}`);
    return tree;
  });
  return { origin: 'npm', from: `${pin.pkg}@${pin.version} (${url})`, id: cutId(pin.integrity), commit: pin.commit, dir };
}

async function fromTarball(o: LlamaSourceOptions, file: string, origin: LlamaOrigin, from: string): Promise<LlamaSource> {
  const sha = await sha256File(file);
  if (o.sha256 && sha !== o.sha256) throw new Error(`checksum mismatch for ${from}: expected sha256 ${o.sha256}, got ${sha}; refused`);
  const dir = await unpackLlama(o.cacheDir, cutId(`sha256-${sha}`), o.info, async (tmp) => {
    o.info(`unpacking ${basename(file)}`);
    await run('tar', ['-xf', file, '-C', tmp]);
    const entries = await readdir(tmp);
    if (entries.length !== 1) throw new Error(`${from}: expected one top-level directory, found ${entries.join(', ') || 'nothing'}`);
    return join(tmp, entries[0]!);
  });
  return { origin, from, id: cutId(`sha256-${sha}`), commit: await gitHead(dir), dir };
}

/** The llama.cpp tree to build: the pinned npm bundle, a local tarball or directory, or a URL. */
export async function resolveLlamaSource(o: LlamaSourceOptions): Promise<LlamaSource> {
  if (o.spec === 'npm') return fromNpm(o);
  if (/^https?:\/\//.test(o.spec)) {
    if (!o.sha256) throw new Error(`runtime.source ${o.spec}: a URL needs runtime.sha256 (the tarball's sha256), so that what is built is what was meant`);
    const file = join(o.cacheDir, 'downloads', basename(new URL(o.spec).pathname) || 'llama.cpp.tar');
    await mkdir(join(o.cacheDir, 'downloads'), { recursive: true });
    if (!(existsSync(file) && (await sha256File(file)) === o.sha256)) await download(o.spec, file, { sha256: o.sha256, onProgress: o.onProgress });
    return fromTarball(o, file, 'url', o.spec);
  }
  const abs = resolve(o.spec);
  const st = await stat(abs).catch(() => {
    throw new Error(`runtime.source ${o.spec}: no such file or directory (use "npm", a llama.cpp tarball or directory, or a URL)`);
  });
  if (!st.isDirectory()) return fromTarball(o, abs, 'path', abs);
  if (!existsSync(join(abs, 'CMakeLists.txt'))) throw new Error(`runtime.source ${abs} is not a llama.cpp tree: it has no CMakeLists.txt`);
  // A tree the user edits in place: its fingerprint, not its path, keys the build.
  const id = `tree-${await fingerprintTree(abs, (rel) => rel.startsWith('.git/') || rel.startsWith('build/'))}`;
  return { origin: 'path', from: abs, id, commit: await gitHead(abs), dir: abs };
}
