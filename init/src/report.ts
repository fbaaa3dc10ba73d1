// The boot report as it stands now: what the first report line says at ready, and what the
// status endpoint serves on each request afterwards.
import type { BootReport, SlotReport } from '../../common/boot-report.ts';
import { formatErrors } from '../../common/schema.ts';
import type { Booted } from './boot.ts';
import { declaredMounts } from './mounts.ts';
import { scanPci } from './pci.ts';
import { vramInfo } from './gpu-memory.ts';
import { readLeases } from './dhcp.ts';
import { buildReport, type ReadyMoment } from './status.ts';
import type { startupFigures } from './clock.ts';

export function reportNow(b: Booted, ready: ReadyMoment, startup: ReturnType<typeof startupFigures>, slots?: SlotReport): () => BootReport {
  return () =>
    buildReport(b.fs, {
      ready,
      startup,
      steps: b.steps,
      declaredMounts: declaredMounts(b.fstab),
      strategy: b.strategy,
      gpus: b.gpus.map((g) => {
        const driver = scanPci(b.fs).find((d) => d.slot === g.slot)?.driver ?? null;
        return { ...g, driver, vram: vramInfo(b.fs, g.slot, driver) };
      }),
      services: b.supervisor.info(),
      statusPort: b.config.statusPort,
      addon: b.addon,
      watchdog: b.watchdog,
      inference: b.inference?.info(),
      pressureEvents: b.pressure.events(),
      pressureTriggers: b.pressure.triggers(),
      shell: b.shell,
      dhcp: readLeases(b.fs),
      configErrors: b.configErrors.map((e) => formatErrors([e])),
      // A copy: the report of the moment, not one that changes after it is made.
      slots: slots && structuredClone(slots),
    });
}
