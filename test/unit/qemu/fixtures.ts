import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BootReport } from '../../../common/boot-report.ts';
import { parseProbe, type ProbeEvidence } from '../../../common/probe.ts';
import type { BootOutcome } from '../../../qemu/judge.ts';
import { parseFstab, parseModulesDep, type ImageFacts } from '../../../qemu/image-facts.ts';

const FIX = join(import.meta.dirname, 'fixtures');
const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The probe's lines from a real boot of the default image (direct path, TCG). */
export const PROBE_LOG = readFileSync(join(FIX, 'probe-direct.log'), 'utf8').trim().split('\n');
export const PROBE_NONCE = PROBE_LOG[0]!.split(' ')[1]!;

export function goodProbe(): ProbeEvidence {
  const r = parseProbe(PROBE_LOG, PROBE_NONCE);
  if (!r.ok) throw new Error(r.error);
  return r.evidence;
}

/** The default image's fstab, init.json and modules.dep (taken from a real rootfs.img). */
export function goodImage(over: Partial<ImageFacts> = {}): ImageFacts {
  return {
    source: 'fixture',
    fstab: parseFstab(readFileSync(join(ROOT, 'rootfs/etc/fstab'), 'utf8')),
    initJson: readFileSync(join(FIX, 'init.json'), 'utf8'),
    moduleDeps: parseModulesDep(readFileSync(join(FIX, 'modules.dep'), 'utf8')),
    builtin: new Set(['ext4', 'ata_piix', 'virtio_net']),
    ...over,
  };
}

export function goodReport(): BootReport {
  return {
    version: 1,
    pid1: { pid: 1, comm: 'aios-init', exe: '/usr/sbin/aios-init', rssKB: 60000 },
    kernel: { release: '6.12.117', cmdline: 'console=ttyS0 root=/dev/sda1' },
    uptimeAtReady: 6.2,
    execToReadyMs: 1800,
    steps: [],
    mounts: [
      { source: '/dev/sda1', target: '/', fstype: 'ext4', options: 'rw' },
      { source: 'proc', target: '/proc', fstype: 'proc', options: 'rw' },
      { source: 'tmpfs', target: '/var/tmp', fstype: 'tmpfs', options: 'rw' },
    ],
    declaredMounts: ['/', '/var/tmp'],
    interfaces: [
      { name: 'lo', mac: '00:00:00:00:00:00', up: true, addresses: ['127.0.0.1/8'], kind: 'loopback' },
      { name: 'eth0', mac: '52:54:00:12:34:56', up: true, addresses: ['10.0.2.15/24'], kind: 'ethernet' },
    ],
    defaultRoute: '10.0.2.2',
    modules: [],
    moduleStrategy: {
      always: ['nvme', 'ext4'],
      detected: [],
      never: ['snd', 'hid', 'bluetooth', 'cfg80211'],
      refused: [],
      missing: ['nvme'],
      builtin: ['ext4'],
      planned: [],
    },
    gpus: [],
    services: [],
    pressure: { cpu: { avg10: 0, avg60: 0 }, memory: null, io: null },
    statusPort: 8080,
    procFiles: { '/proc/cpuinfo': true, '/sys/class/net': true },
    addon: { loaded: true },
    zombies: [],
    configErrors: [],
    dhcp: [{ interface: 'eth0', ip: '10.0.2.15', routers: ['10.0.2.2'], dns: ['10.0.2.3'], server: '10.0.2.2', leaseSeconds: 86400, uptime: 3.5 }],
  };
}

export function outcome(over: Partial<BootOutcome> = {}): BootOutcome {
  return {
    path: 'direct',
    accel: 'tcg',
    report: goodReport(),
    firstOutputSec: 0.4,
    reportSec: 12,
    httpOk: true,
    live: goodReport(),
    cleanShutdown: true,
    powerOffLines: ['aios-init: power button: poweroff', '[   12.3] reboot: Power down'],
    shutdownDetail: 'QEMU exited by itself',
    shutdownReason: 'guest-shutdown',
    e2fsck: { ok: true, detail: 'clean' },
    kernelBytes: 3_300_000,
    kernelBudgetBytes: 15_000_000,
    budgets: { kvm: 5, tcg: 30 },
    probe: { ok: true, evidence: goodProbe() },
    image: goodImage(),
    attached: [],
    ...over,
  };
}
