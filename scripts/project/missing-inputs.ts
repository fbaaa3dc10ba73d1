import { accessSync, constants, existsSync, statSync } from 'node:fs';
import type { ConfigError } from '../../common/schema.ts';
import { isUrl } from './locate.ts';
import type { ProjectConfig } from './config.ts';

/** Which inputs a command reads: `aios config` needs the kernel's only, `aios build` all of them. */
export type InputScope = 'kernel' | 'image';

interface LocalInput {
  key: string;
  path: string;
  want: 'file' | 'directory' | 'executable' | 'file or directory';
  fix: string;
}

/** The files and directories aios.json names on this machine (paths resolved), keywords and URLs left out. */
export function localInputs(c: ProjectConfig, scope: InputScope): LocalInput[] {
  const local = (v: string, keywords: readonly string[] = []) => v !== '' && !keywords.includes(v) && !isUrl(v);
  const out: LocalInput[] = [];
  const add = (key: string, path: string, want: LocalInput['want'], fix: string) => out.push({ key, path, want, fix });
  if (local(c.kernel.source, ['auto', 'kernel.org', 'debian']))
    add('kernel.source', c.kernel.source, 'file or directory', 'give a kernel tarball or source tree, or auto');
  if (local(c.kernel.fragmentDir)) add('kernel.fragmentDir', c.kernel.fragmentDir, 'directory', 'give a directory of .config fragments, or leave it empty');
  c.kernel.fragments.forEach((f, i) => add(`kernel.fragments[${i}]`, f, 'file', 'create it or remove it from `kernel.fragments`'));
  if (scope === 'kernel') return out;
  if (local(c.init.node, ['npm', 'host'])) add('init.node', c.init.node, 'executable', 'give a linux-x64 node binary, npm or host');
  if (local(c.runtime.source, ['npm'])) add('runtime.source', c.runtime.source, 'file or directory', 'give a llama.cpp tarball or tree, or npm');
  if (local(c.model.source)) add('model.source', c.model.source, 'file', 'give a .gguf file, an https URL, or leave it empty for the tiny model');
  if (c.gpu.nvidia === 'open' && local(c.gpu.nvidiaSource, ['debian']))
    add('gpu.nvidiaSource', c.gpu.nvidiaSource, 'file or directory', "give a tarball or directory of NVIDIA's open modules, or debian");
  c.overlay.forEach((o, i) => add(`overlay[${i}]`, o, 'directory', 'create it or remove it from `overlay`'));
  for (const h of ['postinst', 'finalize'] as const) if (local(c.hooks[h])) add(`hooks.${h}`, c.hooks[h], 'executable', `create it, or leave hooks.${h} empty`);
  if (local(c.secureBoot.keys))
    add('secureBoot.keys', c.secureBoot.keys, 'directory', 'make a key set there with `aios keys`, or leave it empty for the test key');
  c.images.forEach((img, i) => {
    if (img.tarball) add(`images[${i}].tarball`, img.tarball, 'file', 'give a `docker save` tarball, or ref instead');
  });
  return out;
}

/** Every input aios.json names that is not there, or not what it must be, at once, before any work. */
export function missingInputs(c: ProjectConfig, configFile: string, scope: InputScope): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const { key, path, want, fix } of localInputs(c, scope)) {
    const found = problem(path, want);
    if (found) errors.push({ file: configFile, key, message: `${path} ${found.what}; ${found.fix ?? fix}` });
  }
  return errors;
}

function problem(path: string, want: LocalInput['want']): { what: string; fix?: string } | undefined {
  if (!existsSync(path)) return { what: 'does not exist' };
  const isDir = statSync(path).isDirectory();
  if (want === 'directory' && !isDir) return { what: 'is not a directory' };
  if ((want === 'file' || want === 'executable') && isDir) return { what: 'is a directory, not a file' };
  if (want === 'executable')
    try {
      accessSync(path, constants.X_OK);
    } catch {
      return { what: 'is not executable', fix: `\`chmod +x ${path}\`` };
    }
  return undefined;
}
