import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../../common/exec.ts';
import { sha256File } from './hash.ts';
import type { AptRepo } from './apt.ts';

export interface DebRef {
  deb: string;
  package: string;
  version: string;
  sha256: string;
}

/** `Field: value` lines of one apt-cache show record. */
export function parseControl(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last = '';
  for (const line of text.split('\n')) {
    if (line === '') break;
    if (/^\s/.test(line) && last) out[last] += `\n${line.trim()}`;
    else {
      const m = /^([\w-]+):\s?(.*)$/.exec(line);
      if (m) out[(last = m[1]!)] = m[2]!.trim();
    }
  }
  return out;
}

async function showRecord(pkg: string, version: string | undefined, repo?: AptRepo): Promise<Record<string, string>> {
  const spec = version ? `${pkg}=${version}` : pkg;
  const where = repo ? `aiOS's private apt configuration (${repo.dir})` : "the host's apt index";
  const r = await run('apt-cache', [...(repo?.options ?? []), 'show', '--no-all-versions', spec], { okCodes: [100] });
  const rec = parseControl(r.stdout);
  if (r.exitCode !== 0 || !rec.Version)
    throw new Error(
      version
        ? `Debian has no ${pkg} version ${version} in ${where}: see \`apt-cache policy ${pkg}\` for the versions it has`
        : `Debian has no package ${pkg} in ${where}${repo ? '' : ': run `apt-get update` first'}`,
    );
  for (const f of ['SHA256', 'Architecture']) if (!rec[f]) throw new Error(`apt-cache show ${spec} has no ${f}${repo ? '' : ': run `apt-get update` first'}`);
  return rec;
}

/**
 * A Debian package's .deb in `dir`, downloaded without root by `apt-get download` and checked
 * against the sha256 in Debian's signed index; a cached copy is checked the same way before use.
 * `repo` selects aiOS's private apt configuration instead of the host's.
 */
export async function fetchDeb(pkg: string, dir: string, info: (m: string) => void, opts: { repo?: AptRepo; version?: string } = {}): Promise<DebRef> {
  await mkdir(dir, { recursive: true });
  const rec = await showRecord(pkg, opts.version, opts.repo);
  const version = rec.Version!;
  const sha256 = rec.SHA256!;
  const deb = join(dir, `${pkg}_${version.replace(/:/g, '%3a')}_${rec.Architecture}.deb`);
  if (existsSync(deb) && (await sha256File(deb)) === sha256) return { deb, package: pkg, version, sha256 };
  await rm(deb, { force: true });
  info(`apt-get download ${pkg}=${version}`);
  await run('apt-get', [...(opts.repo?.options ?? []), 'download', `${pkg}=${version}`], { cwd: dir });
  const got = await sha256File(deb);
  if (got !== sha256) {
    await rm(deb, { force: true });
    throw new Error(`checksum mismatch for ${basename(deb)}: Debian's index says ${sha256}, got ${got}; deleted`);
  }
  return { deb, package: pkg, version, sha256 };
}
