import { randomBytes } from 'node:crypto';

/**
 * aios check's probe (rootfs/usr/libexec/aios/probe): busybox prints the running machine's facts
 * on the console, each line "AIOS-PROBE <nonce> <n> <section> <text>", the last "end <count>".
 * The judge reads these rather than aios-init's report wherever the fact lives in the guest.
 */
export const PROBE_MARK = 'AIOS-PROBE';
/**
 * The probe's nonce reaches the guest as a QEMU fw_cfg item (`-fw_cfg name=...,string=<nonce>`):
 * only the host that starts QEMU can set it, on every boot path alike (a signed UKI's command
 * line cannot carry it), and the guest reads it from sysfs, root only, not from the world-readable
 * /proc/cmdline. Nothing a disk holds can turn the probe on.
 */
export const PROBE_FW_CFG = 'opt/aios/probe';

/** Where the guest's kernel (CONFIG_FW_CFG_SYSFS) shows that item. */
export const PROBE_FW_CFG_FILE = `/sys/firmware/qemu_fw_cfg/by_name/${PROBE_FW_CFG}/raw`;

/** What a nonce may be: aios check makes 24 hex digits; the guest accepts nothing else. */
export const NONCE_PATTERN = /^[A-Za-z0-9]{1,64}$/;

/** Files that must exist on a populated /proc and /sys; the probe script lists the same ones. */
export const PROBE_FILES = [
  '/proc/cpuinfo',
  '/proc/meminfo',
  '/proc/mounts',
  '/proc/uptime',
  '/proc/self/status',
  '/sys/kernel',
  '/sys/class/net',
  '/sys/bus/pci/devices',
  '/sys/fs/cgroup/cgroup.controllers',
] as const;

export interface ProbeZombie {
  pid: number;
  ppid: number;
  comm: string;
}

export interface ProbePci {
  slot: string;
  vendor: string;
  device: string;
  class: string;
  driver: string | null;
  modalias: string;
}

export interface ProbeEvidence {
  pid1: { comm: string; exe: string };
  mounts: { source: string; target: string; fstype: string; options: string }[];
  /** Interfaces by name: up (IFF_UP) and their addresses in CIDR form. */
  interfaces: Record<string, { up: boolean; addresses: string[] }>;
  /** /proc/modules: name -> state (Live, Loading, Unloading). */
  modules: Record<string, string>;
  pci: ProbePci[];
  /** DHCP leases as udhcpc's script left them: interface -> key -> value. */
  leases: Record<string, Record<string, string>>;
  files: Record<string, boolean>;
  /** Zombies in two readings about a second apart. */
  zombies: [ProbeZombie[], ProbeZombie[]];
  /** A third reading 2 s after the second, taken only when a zombie was in both. */
  zombiesLater?: ProbeZombie[];
  /** The firmware's SecureBoot variable: "1" enforced, "0" not, "bios" no UEFI, "unknown" no variable. */
  secureBoot?: string;
  /** /sys/kernel/security/lockdown as the kernel prints it ("none [integrity] confidentiality"). */
  lockdown?: string;
  /** Device-mapper devices: dm-N -> name and uuid. */
  dm: Record<string, { name: string; uuid: string }>;
  /** ggml's backend modules in the guest's /usr/lib/llama -> the libraries its loader did not find for each. */
  backends: Record<string, string[]>;
}

export type ProbeResult = { ok: true; evidence: ProbeEvidence } | { ok: false; error: string };

/** /proc/mounts and fstab escape spaces and the like as octal (\040). */
export const unescapeOctal = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Parse this boot's probe lines out of the serial log; any line lost or garbled makes it incomplete. */
export function parseProbe(lines: readonly string[], nonce: string): ProbeResult {
  const head = `${PROBE_MARK} ${nonce} `;
  const byNumber = new Map<number, string>();
  let total: number | undefined;
  for (const raw of lines) {
    const at = raw.indexOf(head);
    if (at < 0) continue;
    const m = /^(\d+) (.*)$/.exec(raw.slice(at + head.length));
    if (!m) continue;
    const n = Number(m[1]);
    const body = m[2]!;
    const end = /^end (\d+)$/.exec(body);
    if (end && Number(end[1]) === n) total = n;
    else byNumber.set(n, body);
  }
  if (total === undefined)
    return {
      ok: false,
      error: byNumber.size ? `the probe's output stops after ${byNumber.size} line(s): no end line` : 'no probe output on the serial console',
    };
  const lost = [];
  for (let n = 1; n < total; n++) if (!byNumber.has(n)) lost.push(n);
  if (lost.length) return { ok: false, error: `probe line(s) ${lost.join(', ')} of ${total} lost or garbled on the serial console` };

  const e: ProbeEvidence = {
    pid1: { comm: '', exe: '' },
    mounts: [],
    interfaces: {},
    modules: {},
    pci: [],
    leases: {},
    files: {},
    zombies: [[], []],
    dm: {},
    backends: {},
  };
  const iface = (name: string) => (e.interfaces[name] ??= { up: false, addresses: [] });
  for (const n of [...byNumber.keys()].sort((a, b) => a - b)) {
    const body = byNumber.get(n)!;
    const sp = body.indexOf(' ');
    const section = sp < 0 ? body : body.slice(0, sp);
    const rest = sp < 0 ? '' : body.slice(sp + 1);
    const f = rest.split(/\s+/).filter(Boolean);
    switch (section) {
      case 'pid1':
        e.pid1 = { comm: f[0] ?? '', exe: f[1] ?? '' };
        break;
      case 'mount':
        if (f.length >= 4) e.mounts.push({ source: unescapeOctal(f[0]!), target: unescapeOctal(f[1]!), fstype: f[2]!, options: f[3]! });
        break;
      case 'link': {
        // "2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ..."
        const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>/.exec(rest);
        if (m) iface(m[1]!).up = m[2]!.split(',').includes('UP');
        break;
      }
      case 'addr': {
        // "2: eth0    inet 10.0.2.15/24 brd ... scope global eth0\ ..."
        const m = /^\d+:\s+(\S+)\s+inet6?\s+(\S+)/.exec(rest);
        if (m) iface(m[1]!).addresses.push(m[2]!);
        break;
      }
      case 'module':
        if (f[0]) e.modules[f[0]] = f[1] ?? '';
        break;
      case 'pci':
        if (f.length >= 5) e.pci.push({ slot: f[0]!, vendor: f[1]!, device: f[2]!, class: f[3]!, driver: f[4] === '-' ? null : f[4]!, modalias: f[5] ?? '' });
        break;
      case 'lease': {
        const [name, kv] = [f[0], f.slice(1).join(' ')];
        const eq = kv.indexOf('=');
        if (name && eq > 0) (e.leases[name] ??= {})[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
      case 'file':
        if (f[1]) e.files[f[1]] = f[0] === 'present';
        break;
      case 'secureboot':
        e.secureBoot = f[0];
        break;
      case 'lockdown':
        e.lockdown = rest.trim();
        break;
      case 'dm':
        if (f.length >= 2) e.dm[f[0]!] = { name: f[1]!, uuid: f[2] ?? '' };
        break;
      case 'backend':
        if (f[0]) e.backends[f[0]] ??= [];
        break;
      case 'backend-missing':
        if (f[0] && f[1]) (e.backends[f[0]] ??= []).push(f[1]);
        break;
      case 'zombie-1':
      case 'zombie-2':
      case 'zombie-3': {
        if (f.length < 3) break;
        const z = { pid: parseInt(f[0]!, 10), ppid: parseInt(f[1]!, 10), comm: f.slice(2).join(' ') };
        if (section === 'zombie-3') (e.zombiesLater ??= []).push(z);
        else e.zombies[section === 'zombie-1' ? 0 : 1].push(z);
        break;
      }
    }
  }
  return { ok: true, evidence: e };
}

/** A fresh nonce per boot: a stale log or a canned copy of earlier output does not count. */
export function probeNonce(): string {
  return randomBytes(6).toString('hex');
}
