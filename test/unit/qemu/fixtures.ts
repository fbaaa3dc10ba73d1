import type { BootReport } from '../../../common/boot-report.ts';
import type { BootOutcome } from '../../../qemu/checks.ts';

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
    dhcp: [{ interface: 'eth0', ip: '10.0.2.15', router: '10.0.2.2', dns: ['10.0.2.3'], server: '10.0.2.2', leaseSeconds: 86400, uptime: 3.5 }],
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
    later: goodReport(),
    cleanShutdown: true,
    powerOffLines: ['aios-init: power button: poweroff', '[   12.3] reboot: Power down'],
    shutdownDetail: 'QEMU exited by itself',
    e2fsck: { ok: true, detail: 'clean' },
    kernelBytes: 3_300_000,
    kernelBudgetBytes: 15_000_000,
    budgets: { kvm: 5, tcg: 30 },
    ...over,
  };
}
