import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../common/exec.ts';

/**
 * A private apt configuration in the cache: its own sources list, lists and archives, so that
 * aiOS can read Debian's contrib, non-free and non-free-firmware components (NVIDIA's open
 * modules, GSP firmware) without root and without touching the host's apt sources. Release files
 * are checked against the host's Debian archive keyring, and each .deb against the signed index.
 */
export interface AptRepo {
  dir: string;
  /** The `-o` options every apt-get and apt-cache call of this repository takes. */
  options: string[];
}

export interface AptSources {
  mirror: string;
  securityMirror: string;
  suite: string;
  components: readonly string[];
  keyring: string;
}

export const DEFAULT_SOURCES: AptSources = {
  mirror: 'http://deb.debian.org/debian',
  securityMirror: 'http://deb.debian.org/debian-security',
  suite: 'bookworm',
  components: ['main', 'contrib', 'non-free', 'non-free-firmware'],
  keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
};

/** The one-line-style sources list of the private configuration. */
export function sourcesList(s: AptSources): string {
  const comps = s.components.join(' ');
  const line = (uri: string, suite: string) => `deb [signed-by=${s.keyring}] ${uri} ${suite} ${comps}`;
  return [line(s.mirror, s.suite), line(s.mirror, `${s.suite}-updates`), line(s.securityMirror, `${s.suite}-security`)].join('\n') + '\n';
}

/** Every path apt would otherwise take from /etc or /var points into `dir`. */
export function aptOptions(dir: string): string[] {
  const o: Record<string, string> = {
    'Dir::Etc::SourceList': join(dir, 'sources.list'),
    'Dir::Etc::SourceParts': join(dir, 'sources.list.d'),
    'Dir::Etc::Preferences': join(dir, 'preferences'),
    'Dir::Etc::PreferencesParts': join(dir, 'preferences.d'),
    'Dir::State::Lists': join(dir, 'lists'),
    'Dir::Cache': join(dir, 'cache'),
    // An empty dpkg status: what the host has installed must not change what is resolved.
    'Dir::State::status': join(dir, 'status'),
    'APT::Sandbox::User': 'root',
    'Acquire::Languages': 'none',
  };
  return Object.entries(o).flatMap(([k, v]) => ['-o', `${k}=${v}`]);
}

const updated = new Map<string, Promise<void>>();

/** The repository in `<cache>/apt`, its index refreshed at most once a day (and once per process). */
export async function openApt(cacheDir: string, info: (m: string) => void, sources: AptSources = DEFAULT_SOURCES, maxAgeHours = 24): Promise<AptRepo> {
  const dir = join(cacheDir, 'apt');
  const repo = { dir, options: aptOptions(dir) };
  const list = sourcesList(sources);
  let pending = updated.get(dir + list);
  if (!pending) {
    pending = refresh(repo, list, info, maxAgeHours);
    updated.set(dir + list, pending);
  }
  await pending;
  return repo;
}

async function refresh(repo: AptRepo, list: string, info: (m: string) => void, maxAgeHours: number): Promise<void> {
  const { dir } = repo;
  for (const d of ['sources.list.d', 'preferences.d', 'lists/partial', 'cache/archives/partial']) await mkdir(join(dir, d), { recursive: true });
  if (!existsSync(join(dir, 'status'))) await writeFile(join(dir, 'status'), '');
  const stampFile = join(dir, 'lists', '.aios-updated');
  const listFile = join(dir, 'sources.list');
  const same = existsSync(listFile) && (await readFile(listFile, 'utf8')) === list;
  const age = existsSync(stampFile) ? (Date.now() - (await stat(stampFile)).mtimeMs) / 3.6e6 : Infinity;
  if (same && age < maxAgeHours) return;
  await writeFile(listFile, list);
  info(`apt-get update (private configuration in ${dir})`);
  try {
    await run('apt-get', [...repo.options, '-q', '--error-on=any', 'update']);
  } catch (err) {
    throw new Error(
      `the Debian archive could not be read through aiOS's private apt configuration (${listFile}): check that the mirror is reachable, or that debian-archive-keyring is installed`,
      { cause: err },
    );
  }
  await writeFile(stampFile, new Date().toISOString());
}
