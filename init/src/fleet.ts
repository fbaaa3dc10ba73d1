// The slots' part of the boot: read before the report (which says them), then, once the machine
// is ready, the trial marked good or given its deadline, and the update loop started.
import type { SlotReport } from '../../common/boot-report.ts';
import { ESP_PART_NAME, UPDATE_CERT, type Slot } from '../../common/slots.ts';
import { bootedSlot, markGood, readEntries, slotReport, type Entry } from './ab.ts';
import type { InitConfig } from './config.ts';
import type { InferenceWatch } from './inference.ts';
import type { Log } from './log.ts';
import type { PowerRequests } from './signals.ts';
import type { Sys } from './sys.ts';
import type { ToolChildren } from './run-tool.ts';
import { Esp, partitionNode } from './esp.ts';
import type { FsRoot } from './fsroot.ts';
import { Updater, updateCert } from './update.ts';

export interface AbState {
  slot: Slot;
  esp?: Esp;
  entries: Entry[];
  report: SlotReport;
}

/** The slots of a boot from one (undefined for any other boot), read from the ESP; a failure is in the report, never thrown. */
export async function readSlots(fs: FsRoot, children: ToolChildren, cmdline: string, url: string): Promise<AbState | undefined> {
  const slot = bootedSlot(cmdline);
  if (!slot) return undefined;
  const empty = slotReport(slot, [], url);
  const dev = partitionNode(fs, ESP_PART_NAME);
  if (!dev) return { slot, entries: [], report: { ...empty, error: `no partition named ${ESP_PART_NAME}: the slots' entries cannot be read` } };
  const esp = new Esp(children, dev);
  try {
    const entries = await readEntries(esp);
    return { slot, esp, entries, report: slotReport(slot, entries, url) };
  } catch (err) {
    return { slot, esp, entries: [], report: { ...empty, error: `reading the entries on ${dev}: ${(err as Error).message}` } };
  }
}

/**
 * After the report: a trial is marked good once the machine serves (the inference service ready,
 * when there is one), or rebooted at trialSeconds so that systemd-boot counts the try; the update
 * loop starts once the slot is good.
 */
export function runSlots(
  b: { log: Log; config: InitConfig; power: Pick<PowerRequests, 'request'>; fs: FsRoot; sys: Pick<Sys, 'sync'>; inference?: Pick<InferenceWatch, 'info'> },
  ab: AbState,
): void {
  const { log, config } = b;
  const r = ab.report;
  const reboot = (why: string) => b.power.request('restart', why);
  const startUpdates = () => {
    if (!config.update.url) return;
    const cert = updateCert(b.fs, UPDATE_CERT);
    if (!ab.esp || !cert) {
      r.update = {
        url: config.update.url,
        state: 'failed',
        detail: !cert ? `${UPDATE_CERT} is missing: no update can be checked` : (r.error ?? 'no EFI partition'),
      };
      return log.warn(`update: ${r.update.detail}`);
    }
    new Updater({ config: config.update, fs: b.fs, esp: ab.esp, report: r, cert, log: (m) => log.info(m), sync: () => b.sys.sync(), reboot }).start();
  };
  if (!r.trial) return startUpdates();
  log.info(`slot ${ab.slot}: build ${r.build} on trial (${r.tries?.done ?? 0} tries done, ${r.tries?.left ?? 0} left); marked good once it serves`);
  const deadline = setTimeout(
    () => reboot(`slot ${ab.slot} on trial was not marked good within ${config.update.trialSeconds} s (update.trialSeconds)`),
    config.update.trialSeconds * 1000,
  );
  const settle = async (): Promise<void> => {
    const state = b.inference?.info().state ?? 'ready';
    if (state === 'loading') return void setTimeout(() => void settle(), 1000);
    clearTimeout(deadline);
    if (state === 'failed') return reboot(`slot ${ab.slot} on trial: the inference service failed (${b.inference?.info().reason ?? ''})`);
    try {
      const done = await markGood(ab.esp!, ab.slot, ab.entries, () => b.sys.sync());
      Object.assign(r, { trial: false, markedGood: true });
      log.info(`slot ${ab.slot}: build ${r.build} marked good (${done})`);
      startUpdates();
    } catch (err) {
      log.warn(`slot ${ab.slot}: could not mark it good: ${(err as Error).message}`);
    }
  };
  void settle();
}
