import { readFileSync } from 'node:fs';
import type { PressureEvent } from '../../common/boot-report.ts';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';

/** The line a PSI trigger is registered with (Documentation/accounting/psi.rst). */
export function triggerSpec(stallUs: number, windowUs: number): string {
  return `some ${stallUs} ${windowUs}`;
}

/** avg10 of the "some" line of a pressure file. */
export function parseAvg10(text: string): number | null {
  const m = /^some avg10=([\d.]+)/m.exec(text);
  return m ? Number(m[1]) : null;
}

const MAX_EVENTS = 100;

/** PSI triggers: the kernel wakes us when a group stalls on memory for longer than the threshold. */
export class PressureWatch {
  private list: PressureEvent[] = [];
  private registered: string[] = [];
  constructor(
    private readonly sys: Sys,
    private readonly fs: FsRoot,
    private readonly log: (m: string) => void,
  ) {}

  register(groups: { group: string; file: string }[], stallUs: number, windowUs: number): void {
    const spec = triggerSpec(stallUs, windowUs);
    const failed: string[] = [];
    for (const g of groups) {
      try {
        this.sys.psiWatch(this.fs.p(g.file), spec, () => this.fire(g.group, g.file));
        this.registered.push(`${g.group}: ${g.file} (${spec})`);
      } catch (err) {
        failed.push(`${g.file}: ${(err as Error).message}`);
      }
    }
    if (failed.length) throw new Error(`PSI triggers not registered: ${failed.join('; ')}`);
  }

  private fire(group: string, file: string): void {
    let avg10: number | null = null;
    try {
      avg10 = parseAvg10(readFileSync(this.fs.p(file), 'utf8'));
    } catch {
      /* the group went away: the event is still recorded */
    }
    const uptime = Number(readFileSync(this.fs.p('/proc/uptime'), 'utf8').split(' ')[0] ?? 0);
    this.list.push({ uptime, group, avg10 });
    if (this.list.length > MAX_EVENTS) this.list.shift();
    this.log(`memory pressure: ${group} stalled past its threshold (avg10 ${avg10 ?? '?'}%, uptime ${uptime} s)`);
  }

  events(): PressureEvent[] {
    return [...this.list];
  }

  triggers(): string[] {
    return [...this.registered];
  }
}
