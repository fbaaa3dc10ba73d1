import type { BootReport } from '../common/boot-report.ts';
import type { Accel, BootPath } from './cmdline.ts';
import type { InferenceProbe } from './inference.ts';

export interface CheckResult {
  id: string;
  name: string;
  ok: boolean;
  detail: string;
}

/** What the runner saw during one boot. */
export interface BootObservation {
  report?: BootReport;
  reportError?: string;
  firstOutputSec?: number;
  reportSec?: number;
  httpOk?: boolean;
  httpDetail?: string;
  /** The status endpoint's report, read a while after boot, and again a second later. */
  live?: BootReport;
  later?: BootReport;
  /** What the host got from llama-server through its forwarded port. */
  inference?: InferenceProbe;
  cleanShutdown: boolean;
  shutdownDetail: string;
  /** Serial lines from system_powerdown to QEMU's exit: the kernel says how the machine ended. */
  powerOffLines?: string[];
}

/** What one boot produced, as the judge sees it: the observation and the facts around it. */
export interface BootOutcome extends BootObservation {
  path: BootPath;
  accel: Accel;
  e2fsck?: { ok: boolean; detail: string };
  kernelBytes: number;
  kernelBudgetBytes: number;
  budgets: { kvm: number; tcg: number };
  /** The image serves a model: the answer must hold `expect` (any answer when empty). */
  inferenceExpect?: { expect: string; model: string };
}

/** Check 11, from what the host itself received, never from what aios-init reports. */
export function judgeInference(want: { expect: string; model: string }, probe: InferenceProbe | undefined): CheckResult {
  const name = 'inference answers';
  if (!probe) return { id: 'inference', name, ok: false, detail: 'no request was sent: the boot never reached its report' };
  const init = probe.initView;
  const load = init?.loadMs != null ? `, model load ${init.loadMs} ms (aios-init)` : '';
  if (probe.error || probe.answer === undefined)
    return { id: 'inference', name, ok: false, detail: `${probe.error ?? 'no answer'}${init?.reason ? `; aios-init says: ${init.reason}` : ''}` };
  const ok = want.expect ? probe.answer.includes(want.expect) : probe.answer.trim().length > 0;
  const figures = `server ready ${probe.readySec?.toFixed(1)} s after QEMU start${load}, first token ${probe.ttftMs?.toFixed(0) ?? '?'} ms, ${probe.tokensPerSecond?.toFixed(1) ?? '?'} tokens/s (${probe.predicted ?? '?'} tokens)`;
  return {
    id: 'inference',
    name,
    ok,
    detail: `${want.model} answered ${JSON.stringify(probe.answer)}${want.expect ? ` (expected ${JSON.stringify(want.expect)})` : ''}; ${figures}`,
  };
}

const NO_REPORT = (o: BootOutcome) => `no boot report${o.reportError ? ` (${o.reportError})` : ''}`;

/** Judge the checklist of the spec on one boot; every check says why it passed or failed. */
export function judge(o: BootOutcome): CheckResult[] {
  const r = o.report;
  const out: CheckResult[] = [];
  const add = (id: string, name: string, ok: boolean, detail: string) => out.push({ id, name, ok, detail });

  const budget = o.accel === 'kvm' ? o.budgets.kvm : o.budgets.tcg;
  const t = (s?: number) => (s === undefined ? 'never' : `${s.toFixed(1)} s`);
  add(
    'boot-time',
    'boots fast',
    o.reportSec !== undefined && o.reportSec <= budget,
    `first serial output ${t(o.firstOutputSec)}, boot report ${t(o.reportSec)}; budget ${budget} s (${o.accel.toUpperCase()} budget)`,
  );

  if (!r) {
    for (const [id, name] of [
      ['filesystems', 'filesystems mounted'],
      ['network', 'network up'],
      ['gpu', 'GPU detected when present'],
      ['proc-sys', '/proc and /sys populated'],
      ['pid1', 'PID 1 is aios-init'],
      ['orphans', 'orphans reaped'],
      ['modules', 'no unneeded modules loaded'],
      ['config', 'image configuration accepted'],
    ] as const)
      add(id, name, false, NO_REPORT(o));
  } else {
    const mounted = new Set(r.mounts.map((m) => m.target));
    const wanted = [...new Set(['/', ...r.declaredMounts])];
    const missing = wanted.filter((m) => !mounted.has(m));
    add(
      'filesystems',
      'filesystems mounted',
      missing.length === 0,
      missing.length
        ? `not mounted: ${missing.join(', ')}`
        : `mounted: ${wanted.map((w) => `${w} (${r.mounts.filter((m) => m.target === w).pop()?.fstype})`).join(', ')}`,
    );

    const eth = r.interfaces.filter((i) => i.kind === 'ethernet' && i.up && i.addresses.some((a) => !a.startsWith('127.') && a.includes('.')));
    // QEMU's user network hands out addresses by DHCP: an address without a lease is a static
    // fallback covering for a broken DHCP client.
    const leased = eth.filter((i) => r.dhcp?.some((l) => l.interface === i.name && i.addresses.some((a) => a.split('/')[0] === l.ip)));
    const netOk = leased.length > 0 && o.httpOk === true;
    const how = (name: string) => {
      const l = r.dhcp?.find((x) => x.interface === name);
      return l ? ` (DHCP from ${l.server ?? '?'}, lease ${l.leaseSeconds ?? '?'} s)` : ' (no DHCP lease: static or stale)';
    };
    add(
      'network',
      'network up',
      netOk,
      `${eth.length ? eth.map((i) => `${i.name} ${i.addresses.join(' ')}${how(i.name)}`).join(', ') : 'no Ethernet interface with an IPv4 address'}; host -> guest status port: ${o.httpOk ? 'answered' : `no answer${o.httpDetail ? ` (${o.httpDetail})` : ''}`}`,
    );

    const needsModule = r.gpus.filter((g) => g.vendor === '0x10de' || g.vendor === '0x1002');
    const unserved = needsModule.filter((g) => !g.module || !(r.modules.includes(g.module) || r.moduleStrategy.builtin.includes(g.module)));
    add(
      'gpu',
      'GPU detected when present',
      unserved.length === 0,
      r.gpus.length
        ? r.gpus
            .map(
              (g) =>
                `${g.vendorName} ${g.vendor}:${g.device} at ${g.slot}, driver ${g.driver ?? 'none bound'}, module ${g.module ?? 'none needed'}${unserved.includes(g) ? ' (module not loaded)' : ''}`,
            )
            .join('; ')
        : 'none present',
    );

    const absent = Object.entries(r.procFiles ?? {})
      .filter(([, ok]) => !ok)
      .map(([f]) => f);
    add(
      'proc-sys',
      '/proc and /sys populated',
      Object.keys(r.procFiles ?? {}).length > 0 && absent.length === 0,
      absent.length ? `missing: ${absent.join(', ')}` : `${Object.keys(r.procFiles).length} files present`,
    );

    // An image whose init.json aios-init could not take runs on defaults: it is not the image that was meant.
    const cfgErrors = r.configErrors ?? [];
    add(
      'config',
      'image configuration accepted',
      r.configErrors !== undefined && cfgErrors.length === 0,
      r.configErrors === undefined
        ? 'the boot report says nothing of /etc/aios/init.json'
        : cfgErrors.length
          ? `init.json: ${cfgErrors.join('; ')}`
          : '/etc/aios/init.json accepted without errors',
    );

    add('pid1', 'PID 1 is aios-init', r.pid1.pid === 1 && r.pid1.comm === 'aios-init', `pid ${r.pid1.pid}, comm "${r.pid1.comm}", exe ${r.pid1.exe}`);

    const { live, later } = o;
    const running = live?.services.filter((x) => x.state === 'running').length ?? 0;
    const stale = live && later ? live.zombies.filter((z) => later.zombies.includes(z)) : [];
    add(
      'orphans',
      'orphans reaped',
      Boolean(live && later) && stale.length === 0,
      live && later
        ? `${stale.length ? `zombies left for more than a second: ${stale.join(', ')}` : 'no zombie outlived a second'} (two readings of the status endpoint); ${running} service(s) running`
        : 'no live status from the guest',
    );

    const s = r.moduleStrategy;
    const allowed = new Set([...s.always, ...s.detected, ...s.planned]);
    const never = r.modules.filter((m) => s.never.some((p) => m === p || m.startsWith(p)));
    const extra = r.modules.filter((m) => !allowed.has(m));
    add(
      'modules',
      'no unneeded modules loaded',
      never.length === 0 && extra.length === 0,
      `${r.modules.length} loaded${r.modules.length ? ` (${r.modules.join(', ')})` : ''}${extra.length ? `; not allowed: ${extra.join(', ')}` : ''}${never.length ? `; never-load: ${never.join(', ')}` : ''}`,
    );
  }

  add(
    'kernel-size',
    'kernel under its size budget',
    o.kernelBytes > 0 && o.kernelBytes <= o.kernelBudgetBytes,
    `bzImage ${(o.kernelBytes / 1e6).toFixed(2)} MB, budget ${(o.kernelBudgetBytes / 1e6).toFixed(0)} MB`,
  );
  if (o.inferenceExpect) out.push(judgeInference(o.inferenceExpect, o.inference));
  out.push(judgePowerOff(o));
  if (o.e2fsck) add('fsck', 'root filesystem clean after shutdown', o.e2fsck.ok, o.e2fsck.detail);
  return out;
}

/**
 * Power-off means power-off: QEMU ended by itself after system_powerdown, and the kernel said
 * "reboot: Power down" with no panic, restart or halt on the way (with -no-reboot and panic=-1,
 * a panic or a reboot would also end QEMU).
 */
export function judgePowerOff(o: Pick<BootObservation, 'cleanShutdown' | 'shutdownDetail' | 'powerOffLines'>): CheckResult {
  const name = 'clean power-off';
  if (!o.cleanShutdown) return { id: 'shutdown', name, ok: false, detail: o.shutdownDetail };
  const lines = o.powerOffLines ?? [];
  const bad = lines.find((l) => /Kernel panic|reboot: Restarting system|reboot: System halted|Attempted to kill init/.test(l));
  if (bad) return { id: 'shutdown', name, ok: false, detail: `${o.shutdownDetail}, but the kernel said: ${bad.trim()}` };
  if (!lines.some((l) => /reboot: Power down/.test(l)))
    return { id: 'shutdown', name, ok: false, detail: `${o.shutdownDetail}, but the serial log has no "reboot: Power down" after it` };
  return { id: 'shutdown', name, ok: true, detail: `${o.shutdownDetail}; the kernel said "reboot: Power down"` };
}

/** Map a kernel panic on the serial log to the options that are likely missing. */
export function panicHint(log: string): string | undefined {
  if (!/Kernel panic/.test(log)) return undefined;
  if (/VFS: Unable to mount root fs|No root device|unknown-block/.test(log))
    return 'the kernel found no root device: check the storage driver (CONFIG_ATA_PIIX, CONFIG_SATA_AHCI, CONFIG_VIRTIO_BLK) and filesystem options (CONFIG_EXT4_FS), and root= on the command line';
  if (/No working init found|Requested init .* failed|init not found/.test(log))
    return 'the kernel found no init: check CONFIG_BINFMT_ELF / CONFIG_BINFMT_SCRIPT, the init= path, and that /usr/sbin/aios-init and its libraries are in the root filesystem';
  if (/Attempted to kill init/.test(log)) return 'PID 1 exited: aios-init or stage 1 crashed or is missing (see the lines above the panic)';
  return 'the kernel panicked: see the last serial lines above';
}
