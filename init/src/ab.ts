// The A/B slots from the running machine's side: which slot booted (the signed command line's
// root=PARTLABEL=), what systemd-boot's entries say of both, marking a trial good, and the
// deadline after which a trial that never got there reboots to be counted.
import type { SlotReport } from '../../common/boot-report.ts';
import { ENTRIES_DIR, entryFileName, otherSlot, parseEntryName, parseEntryText, type EntryName, type Slot } from '../../common/slots.ts';
import type { Esp } from './esp.ts';

/** The slot whose root this boot's command line names, or undefined (the ISO, the network, a plain root=). */
export function bootedSlot(cmdline: string): Slot | undefined {
  let root: string | undefined;
  for (const w of cmdline.trim().split(/\s+/)) if (w.startsWith('root=')) root = w.slice(5);
  const m = /^PARTLABEL=aios-root-([ab])$/.exec(root ?? '');
  return m ? (m[1] as Slot) : undefined;
}

/** One entry file on the ESP: its name, what the name says, and what the file says. */
export interface Entry {
  file: string;
  name: EntryName;
  build: string | null;
  version: number | null;
}

/** Entries read from the ESP: the names mtools listed, each read back (an unreadable one has no build). */
export async function readEntries(esp: Pick<Esp, 'list' | 'read'>): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const file of await esp.list(ENTRIES_DIR)) {
    const name = parseEntryName(file);
    if (!name) continue;
    const body = parseEntryText(await esp.read(`${ENTRIES_DIR}/${file}`).catch(() => ''));
    out.push({ file, name, build: body?.build ?? null, version: body?.version ?? null });
  }
  return out;
}

/** The slots as a report says them, from the booted slot and the entries (a pure function, for the tests). */
export function slotReport(slot: Slot, entries: readonly Entry[], url: string): SlotReport {
  const mine = entries.find((e) => e.name.slot === slot);
  const theirs = entries.find((e) => e.name.slot === otherSlot(slot));
  const tries = mine?.name.tries;
  const other: SlotReport['other'] = { slot: otherSlot(slot), state: 'empty', build: theirs?.build ?? null, version: theirs?.version ?? null };
  if (theirs) {
    const t = theirs.name.tries;
    other.state = !t ? 'good' : t.left === 0 ? 'abandoned' : 'trial';
    if (other.state === 'abandoned')
      other.why = `slot ${other.slot} (build ${theirs.build ?? 'unknown'}) was tried ${t!.done} times and never marked good; systemd-boot gave it up and slot ${slot} booted again`;
  }
  return {
    slot,
    build: mine?.build ?? null,
    version: mine?.version ?? null,
    trial: Boolean(tries),
    ...(tries ? { tries } : {}),
    markedGood: Boolean(mine && !tries),
    other,
    update: { url, state: url ? 'waiting' : 'off' },
  };
}

/** The booted slot's entry renamed without its counter: systemd-boot boots it again and never counts it down. */
export async function markGood(esp: Pick<Esp, 'rename'>, slot: Slot, entries: readonly Entry[], sync: () => void): Promise<string | undefined> {
  const mine = entries.find((e) => e.name.slot === slot);
  if (!mine?.name.tries) return undefined;
  const good = entryFileName({ slot });
  await esp.rename(`${ENTRIES_DIR}/${mine.file}`, `${ENTRIES_DIR}/${good}`);
  sync();
  return `${mine.file} -> ${good}`;
}
