import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { run } from '../../common/exec.ts';
import { sha256, sha256File } from './hash.ts';
import { writeFileAtomically } from './atomic.ts';
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

/**
 * The apt index as it stands: its list files by name, size and mtime. apt-get update rewrites
 * them, so a record read under the same fingerprint is the record apt would give now.
 */
export async function aptIndexFingerprint(repo?: AptRepo): Promise<string> {
  const lists = repo ? join(repo.dir, 'lists') : '/var/lib/apt/lists';
  const names = (await readdir(lists).catch(() => [] as string[])).sort();
  const parts = await Promise.all(
    names.map(async (n) => {
      const st = await stat(join(lists, n)).catch(() => undefined);
      return st ? `${n}:${st.size}:${st.mtimeMs}` : n;
    }),
  );
  return sha256(`${lists}\n${parts.join('\n')}`);
}

/**
 * `apt-cache show`, remembered in `dir` (the cache of the package's .debs) under the index's
 * fingerprint: a no-op build asks apt nothing (apt-cache takes more than a second here).
 */
async function showRecord(pkg: string, version: string | undefined, repo: AptRepo | undefined, dir: string): Promise<Record<string, string>> {
  const spec = version ? `${pkg}=${version}` : pkg;
  const memo = join(dir, `.apt-show-${pkg.replace(/[^a-z0-9.+-]/g, '_')}.json`);
  const key = `${spec} ${await aptIndexFingerprint(repo)}`;
  const known = await readFile(memo, 'utf8').then(
    (t) => JSON.parse(t) as { key?: string; record?: Record<string, string> },
    () => ({}) as { key?: string; record?: Record<string, string> },
  );
  if (known.key === key && known.record?.Version && known.record.SHA256 && known.record.Architecture) return known.record;
  const rec = await askApt(spec, pkg, version, repo);
  await writeFileAtomically(memo, JSON.stringify({ key, record: rec })).catch(() => {});
  return rec;
}

async function askApt(spec: string, pkg: string, version: string | undefined, repo?: AptRepo): Promise<Record<string, string>> {
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
  const rec = await showRecord(pkg, opts.version, opts.repo, dir);
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
