// The disk's two root slots and their boot entries, shared by the build (which writes slot A and
// its entry), aios-init (which reads the entries, marks a trial good and writes updates) and
// `aios serve` (which hands updates out), so that none of them can drift.
//
// The slot choice and the boot counting are systemd-boot's (the Boot Loader Specification's boot
// counting, systemd 252): one Type #1 entry per slot in /loader/entries, whose file name carries
// the tries left and done (`aios-b+2-1.conf`). systemd-boot boots the entry that sorts first,
// renames it at each try (+3 -> +2-1 -> +1-2 -> +0-3), and sorts an entry with no tries left last,
// so the last good slot boots again. A good entry's name has no counter: aios-init renames it.

export type Slot = 'a' | 'b';
export const SLOTS: readonly Slot[] = ['a', 'b'];
export const otherSlot = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');

/** The GPT partition names: each slot's root (with its hash tree), and the EFI system partition. */
export const slotPartName = (s: Slot): string => `aios-root-${s}`;
export const ESP_PART_NAME = 'aios-esp';

/** Where each slot's signed UKI lies on the ESP: outside /EFI/Linux, so that systemd-boot does not list it a second time, uncounted. */
export const ukiOnEsp = (s: Slot): string => `/EFI/aios/${s}.efi`;
export const ENTRIES_DIR = '/loader/entries';
export const BOOTLOADER_ON_ESP = '/EFI/BOOT/BOOTX64.EFI';

/**
 * systemd-boot's loader.conf: no menu (hold a key to see it), no editor (the command line is the
 * signed UKI's anyway), none of its own entries (the firmware's, an EFI shell), no random seed written.
 */
export const LOADER_CONF = ['timeout 0', 'editor no', 'auto-entries no', 'auto-firmware no', 'random-seed-mode off', ''].join('\n');

/** An entry's file name as systemd-boot reads it: the slot, and its counter while on trial. */
export interface EntryName {
  slot: Slot;
  /** Tries left and done, while the entry is on trial; absent once it is marked good. */
  tries?: { left: number; done: number };
}

export function entryFileName(e: EntryName): string {
  if (!e.tries) return `aios-${e.slot}.conf`;
  return `aios-${e.slot}+${e.tries.left}${e.tries.done ? `-${e.tries.done}` : ''}.conf`;
}

export function parseEntryName(name: string): EntryName | undefined {
  const m = /^aios-([ab])(?:\+(\d{1,3})(?:-(\d{1,3}))?)?\.conf$/.exec(name);
  if (!m) return undefined;
  const slot = m[1] as Slot;
  return m[2] === undefined ? { slot } : { slot, tries: { left: Number(m[2]), done: Number(m[3] ?? 0) } };
}

/** What an entry says besides its name: the build on the slot, and its generation (newer sorts first). */
export interface EntryBody {
  slot: Slot;
  build: string;
  version: number;
}

/** A Type #1 entry that starts the slot's signed UKI; `sort-key` and `version` make the newest generation first. */
export function entryText(e: EntryBody): string {
  return [`title aiOS ${e.build} (slot ${e.slot})`, 'sort-key aios', `version ${e.version}`, `efi ${ukiOnEsp(e.slot)}`, ''].join('\n');
}

export function parseEntryText(text: string): Omit<EntryBody, 'slot'> | undefined {
  const title = /^title aiOS ([0-9a-f]{16}) \(slot [ab]\)$/m.exec(text);
  const version = /^version (\d{1,9})$/m.exec(text);
  if (!title || !version) return undefined;
  return { build: title[1]!, version: Number(version[1]) };
}

/** The files `aios serve` hands out for updates, by URL path below its base. */
export const UPDATE_PATHS = {
  manifest: '/update/update.json',
  signature: '/update/update.json.sig',
  root: '/update/root.img',
  uki: (s: Slot) => `/update/aios-${s}.efi`,
} as const;

/** Where the image keeps the certificate that update manifests must be signed by (the Secure Boot db certificate). */
export const UPDATE_CERT = '/etc/aios/update.crt';

/** update.json: what a build hands out, signed (RSA or EC with SHA-256) by the key whose certificate is UPDATE_CERT. */
export interface UpdateManifest {
  format: 1;
  /** sha256 of the root and both UKIs, shortened: what the entries' titles and the report name. */
  build: string;
  /** The slot's content: the root filesystem followed by its hash tree. */
  root: { bytes: number; sha256: string; rootHash: string; hashOffset: number };
  /** One signed UKI per slot: they differ only in the root partition their command line names. */
  uki: Record<Slot, { bytes: number; sha256: string }>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const BYTES = (n: unknown) => Number.isSafeInteger(n) && (n as number) > 0;

/** The build identity of a root and its two UKIs. */
export function buildIdOf(sha: (s: string) => string, m: Omit<UpdateManifest, 'build' | 'format'>): string {
  return sha(`${m.root.sha256}\0${m.uki.a.sha256}\0${m.uki.b.sha256}`).slice(0, 16);
}

/** update.json read back: the manifest, or why it is not one (every field checked: it came over the network). */
export function parseManifest(text: string, sha: (s: string) => string): UpdateManifest | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return `not JSON (${(err as Error).message})`;
  }
  const m = v as Partial<UpdateManifest>;
  if (!m || typeof m !== 'object' || m.format !== 1) return 'not an update manifest of format 1';
  const r = m.root;
  if (!r || !BYTES(r.bytes) || !HEX64.test(String(r.sha256)) || !HEX64.test(String(r.rootHash)) || !BYTES(r.hashOffset) || r.hashOffset >= r.bytes)
    return 'root: expected bytes, sha256, rootHash and hashOffset';
  for (const s of SLOTS) {
    const u = m.uki?.[s];
    if (!u || !BYTES(u.bytes) || !HEX64.test(String(u.sha256))) return `uki.${s}: expected bytes and sha256`;
  }
  const want = buildIdOf(sha, m as UpdateManifest);
  if (m.build !== want) return `build ${String(m.build)} is not the identity of its files (${want})`;
  return m as UpdateManifest;
}
