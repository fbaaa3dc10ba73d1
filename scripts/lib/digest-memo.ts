// Digests of large files already read once: a no-op build re-verified every cached download (the
// kernel's tarball, npm tarballs, Debian packages, the model) by reading it whole, about 0.9 s here.
// An entry holds while the file is the same inode with the same size, mtime and ctime: no write
// to a file, and no utimes(2) on it, leaves its ctime as it was.
import { readFile, realpath, stat } from 'node:fs/promises';
import { writeFileAtomically } from './atomic.ts';

/** Smaller files are read again: cheap, and a staging tree's many files would only fill the memo. */
export const MEMO_MIN_BYTES = 1 << 20;
const MAX_ENTRIES = 200;

interface Entry {
  key: string;
  digests: Record<string, string>;
}
let memo: { file: string; entries: Record<string, Entry> } | undefined;

/** Use (and keep) the memo in `file` for the rest of this process: `aios build` names its cache's. */
export async function rememberDigests(file: string): Promise<void> {
  const parsed: unknown = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as unknown,
    () => ({}),
  );
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every(
      (e) =>
        typeof e === 'object' &&
        e !== null &&
        typeof (e as Entry).key === 'string' &&
        typeof (e as Entry).digests === 'object' &&
        Object.values((e as Entry).digests ?? {}).every((d) => typeof d === 'string'),
    );
  memo = { file, entries: ok ? (parsed as Record<string, Entry>) : {} };
}

/** Forget the memo (tests). */
export function forgetDigests(): void {
  memo = undefined;
}

/** What identifies one version of a file without reading it; undefined for a small or missing one. */
async function identity(path: string): Promise<{ real: string; key: string } | undefined> {
  try {
    const real = await realpath(path);
    const st = await stat(real, { bigint: true });
    if (!st.isFile() || st.size < BigInt(MEMO_MIN_BYTES)) return undefined;
    return { real, key: `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` };
  } catch {
    return undefined;
  }
}

/** `compute(path)`, or what it gave for this very version of the file before. */
export async function memoDigest(path: string, kind: string, compute: (path: string) => Promise<string>): Promise<string> {
  const before = memo && (await identity(path));
  const hit = before && memo?.entries[before.real];
  if (before && hit?.key === before.key && hit.digests[kind] !== undefined) return hit.digests[kind];
  const digest = await compute(path);
  // The file may have changed while it was read: only a version that held still is remembered.
  const after = memo && before && (await identity(path));
  if (memo && before && after?.key === before.key) {
    const entries = memo.entries;
    const kept = entries[before.real]?.key === before.key ? entries[before.real]!.digests : {};
    delete entries[before.real];
    entries[before.real] = { key: before.key, digests: { ...kept, [kind]: digest } };
    for (const old of Object.keys(entries).slice(0, Math.max(0, Object.keys(entries).length - MAX_ENTRIES))) delete entries[old];
    await writeFileAtomically(memo.file, `${JSON.stringify(entries, null, 1)}\n`).catch(() => {});
  }
  return digest;
}
