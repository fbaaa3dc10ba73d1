import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../common/exec.ts';
import type { AptRepo } from '../lib/apt.ts';
import { fetchDeb, type DebRef } from '../lib/debian.ts';

export interface Resolved {
  name: string;
  version: string;
}

/** `Inst name (version origin [arch])` lines of `apt-get -s install`: the whole closure, in install order. */
export function parseSimulation(stdout: string): Resolved[] {
  const out: Resolved[] = [];
  for (const m of stdout.matchAll(/^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) /gm)) out.push({ name: m[1]!, version: m[2]! });
  return out;
}

export class PackageError extends Error {}

/** apt's own words for why a request cannot be met, turned into a message that names the input and the fix. */
export function explainAptFailure(output: string, requested: readonly string[], where: string): string {
  const lines = output.split('\n').map((l) => l.trim());
  const unknown = lines.map((l) => /^E: Unable to locate package (\S+)/.exec(l)?.[1]).filter(Boolean);
  if (unknown.length)
    return `${where}: Debian has no package ${unknown.join(', ')} (bookworm main, contrib, non-free); check the name with \`apt-cache search\``;
  const badVersion = lines.map((l) => /^E: Version '([^']+)' for '([^']+)' was not found/.exec(l)).filter(Boolean);
  if (badVersion.length)
    return `${where}: ${badVersion.map((m) => `${m![2]}=${m![1]}`).join(', ')}: no such version in Debian; leave the version out or pick one \`apt-cache policy\` lists`;
  const deps = lines.filter((l) => /Depends:|PreDepends:|Conflicts:|Breaks:/.test(l) && /(not installable|not going to be installed|to be installed)/.test(l));
  if (deps.length || lines.some((l) => l.startsWith('E: Unable to correct problems')))
    return `${where}: the dependencies of ${requested.join(', ')} cannot be resolved:\n  ${deps.join('\n  ') || lines.filter((l) => l.startsWith('E:')).join('\n  ')}\nrelax the versions pinned in \`packages\``;
  return `${where}: apt-get could not resolve ${requested.join(', ')}:\n  ${lines.filter((l) => l.startsWith('E:')).join('\n  ') || output.trim()}`;
}

/**
 * The packages asked for and every package they depend on, as Debian resolves them today;
 * `status`: a dpkg status of its own to resolve against (what counts as installed).
 */
export async function resolvePackages(repo: AptRepo, requested: readonly string[], where: string, status?: string): Promise<Resolved[]> {
  if (!requested.length) return [];
  const own = status ? ['-o', `Dir::State::status=${status}`] : [];
  const r = await run('apt-get', [...repo.options, ...own, '-s', '-q', '--no-install-recommends', 'install', ...requested], {
    okCodes: [100],
    env: { LC_ALL: 'C' },
  });
  if (r.exitCode !== 0) throw new PackageError(explainAptFailure(`${r.stdout}\n${r.stderr}`, requested, where));
  return parseSimulation(r.stdout);
}

/** Each resolved package's .deb, verified against Debian's signed index. */
export async function downloadPackages(repo: AptRepo, resolved: readonly Resolved[], cacheDir: string, info: (m: string) => void): Promise<DebRef[]> {
  const debs: DebRef[] = [];
  for (const p of resolved) debs.push(await fetchDeb(p.name, join(cacheDir, 'downloads', 'debs'), info, { repo, version: p.version }));
  return debs;
}

/** dpkg-deb -x each package into the tree: files only, no maintainer scripts, no dpkg database. */
/** One package's files into an empty directory of their own; confine.ts merges them into the tree. */
export async function unpackPackage(d: DebRef, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run('dpkg-deb', ['-x', d.deb, dir]);
}
