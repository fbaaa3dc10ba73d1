import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../../common/exec.ts';
import { sha256File } from './hash.ts';

async function aptField(pkg: string, field: string): Promise<string> {
  const { stdout } = await run('apt-cache', ['show', '--no-all-versions', pkg]);
  const value = new RegExp(`^${field}: (.*)$`, 'm').exec(stdout)?.[1];
  if (!value) throw new Error(`apt-cache show ${pkg} has no ${field}: run \`apt-get update\` first`);
  return value.trim();
}

/**
 * A Debian package's .deb in `dir`, downloaded without root by `apt-get download` and checked
 * against the sha256 in Debian's index; a cached copy is checked the same way before use.
 */
export async function fetchDeb(pkg: string, dir: string, info: (m: string) => void): Promise<{ deb: string; version: string; sha256: string }> {
  await mkdir(dir, { recursive: true });
  const [version, sha256] = await Promise.all([aptField(pkg, 'Version'), aptField(pkg, 'SHA256')]);
  const arch = await aptField(pkg, 'Architecture');
  const deb = join(dir, `${pkg}_${version.replace(/:/g, '%3a')}_${arch}.deb`);
  if (existsSync(deb) && (await sha256File(deb)) === sha256) return { deb, version, sha256 };
  await rm(deb, { force: true });
  info(`apt-get download ${pkg}=${version}`);
  await run('apt-get', ['download', `${pkg}=${version}`], { cwd: dir });
  const got = await sha256File(deb);
  if (got !== sha256) {
    await rm(deb, { force: true });
    throw new Error(`checksum mismatch for ${basename(deb)}: Debian's index says ${sha256}, got ${got}; deleted`);
  }
  return { deb, version, sha256 };
}
