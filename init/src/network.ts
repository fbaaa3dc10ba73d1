import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';

/** busybox puts its applets in different directories across versions. */
const UDHCPC = ['/sbin/udhcpc', '/usr/sbin/udhcpc', '/bin/udhcpc', '/usr/bin/udhcpc'];
import { networkInterfaces } from 'node:os';
import type { InterfaceInfo } from '../../common/boot-report.ts';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';
import { ownService, type InitConfig } from './config.ts';
import { now } from './clock.ts';

export function listInterfaces(fs: FsRoot): { name: string; kind: InterfaceInfo['kind']; mac: string; physical: boolean }[] {
  let names: string[];
  try {
    names = readdirSync(fs.p('/sys/class/net')).sort();
  } catch {
    return [];
  }
  const read = (n: string, f: string) => {
    try {
      return readFileSync(fs.p(`/sys/class/net/${n}/${f}`), 'utf8').trim();
    } catch {
      return '';
    }
  };
  return names.map((name) => {
    const type = read(name, 'type');
    return {
      name,
      kind: type === '1' ? 'ethernet' : type === '772' ? 'loopback' : 'other',
      mac: read(name, 'address'),
      physical: existsSync(fs.p(`/sys/class/net/${name}/device`)),
    };
  });
}

export function interfaceInfo(fs: FsRoot): InterfaceInfo[] {
  const addrs = networkInterfaces();
  return listInterfaces(fs).map((i) => {
    let up = false;
    try {
      up = (parseInt(readFileSync(fs.p(`/sys/class/net/${i.name}/flags`), 'utf8'), 16) & 1) === 1;
    } catch {
      /* keep false */
    }
    return { name: i.name, mac: i.mac, kind: i.kind, up, addresses: (addrs[i.name] ?? []).map((a) => `${a.address}/${a.cidr?.split('/')[1] ?? ''}`) };
  });
}

export function defaultRoute(fs: FsRoot): string | null {
  try {
    for (const line of readFileSync(fs.p('/proc/net/route'), 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[2]) {
        const n = parseInt(f[2], 16);
        return [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].join('.');
      }
    }
  } catch {
    /* no /proc/net/route: no route */
  }
  return null;
}

/** A DHCP lease as the udhcpc script leaves it in /run/aios/dhcp/<interface>.lease. */
export interface DhcpLease {
  interface: string;
  event: string;
  ip: string;
  subnet: string;
  router: string | null;
  dns: string[];
  server: string | null;
  leaseSeconds: number | null;
  /** Guest uptime when the lease was applied. */
  uptime: number | null;
}

export const LEASE_DIR = '/run/aios/dhcp';

export function parseLeaseFile(iface: string, text: string): DhcpLease | undefined {
  const kv = Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  if (!kv.ip) return undefined;
  const num = (v?: string) => (v && /^\d+(\.\d+)?$/.test(v) ? Number(v) : null);
  return {
    interface: iface,
    event: kv.event ?? '',
    ip: kv.ip,
    subnet: kv.subnet || '255.255.255.0',
    router: kv.router?.split(/\s+/)[0] || null,
    dns: (kv.dns ?? '').split(/\s+/).filter(Boolean),
    server: kv.server || null,
    leaseSeconds: num(kv.lease),
    uptime: num(kv.uptime),
  };
}

export function readLeases(fs: FsRoot): DhcpLease[] {
  try {
    return readdirSync(fs.p(LEASE_DIR))
      .filter((f) => f.endsWith('.lease'))
      .sort()
      .flatMap((f) => parseLeaseFile(f.slice(0, -6), readFileSync(fs.p(`${LEASE_DIR}/${f}`), 'utf8')) ?? []);
  } catch {
    return [];
  }
}

/** udhcpc kept running (renewals), as a supervised service of its own per interface. */
export function dhcpService(iface: string, udhcpc: string): InitConfig['services'][number] {
  return ownService({
    name: `dhcp-${iface}`,
    command: udhcpc,
    args: ['-i', iface, '-f', '-t', '5', '-T', '2', '-A', '3', '-s', '/usr/libexec/aios/udhcpc.script'],
    restart: 'always',
    // The start waits for its lease: no lower weight while the machine starts.
    startupCpuWeight: 100,
    cpuWeight: 100,
  });
}

/**
 * Bring up loopback and every physical Ethernet interface not in `handled` yet, and return at
 * once: one promise per interface, with a note once it has its address. With DHCP, a udhcpc per
 * interface runs for good (it renews its lease and applies it with its script); the promise waits
 * for the first lease, then falls back to the static address when one is configured. Called
 * before the modules are loaded (DHCP then overlaps them) and again after, for the interfaces
 * whose drivers are modules.
 */
export function startNetwork(
  sys: Sys,
  fs: FsRoot,
  cfg: InitConfig['network'],
  startService: (s: InitConfig['services'][number]) => void,
  log: (m: string) => void,
  handled: Set<string>,
): Promise<string[]>[] {
  if (!handled.has('lo')) {
    handled.add('lo');
    try {
      sys.linkUp('lo');
      sys.setAddress('lo', '127.0.0.1', '255.0.0.0');
    } catch (err) {
      log(`loopback: ${(err as Error).message}`);
    }
  }
  const eths = listInterfaces(fs).filter((i) => i.kind === 'ethernet' && i.physical && !handled.has(i.name));
  const udhcpc = UDHCPC.find((p) => existsSync(fs.p(p)));
  return eths.map(async (i) => {
    handled.add(i.name);
    const notes: string[] = [];
    try {
      sys.linkUp(i.name);
    } catch (err) {
      log(`${i.name}: cannot bring up: ${(err as Error).message}`);
      return notes;
    }
    if (cfg.dhcp && udhcpc) {
      try {
        mkdirSync(fs.p(LEASE_DIR), { recursive: true }); // so that the script need not fork a mkdir
      } catch {
        /* the script makes it */
      }
      startService(dhcpService(i.name, udhcpc));
      const deadline = now() + cfg.dhcpTimeoutSeconds * 1000;
      while (now() < deadline) {
        const lease = readLeases(fs).find((l) => l.interface === i.name);
        if (lease)
          return [
            `${i.name} ${lease.ip}/${lease.subnet} by DHCP from ${lease.server ?? '?'}${lease.router ? ` via ${lease.router}` : ''}, lease ${lease.leaseSeconds ?? '?'} s`,
          ];
        await new Promise((r) => setTimeout(r, 20));
      }
      log(`${i.name}: no DHCP lease within ${cfg.dhcpTimeoutSeconds} s (udhcpc keeps asking)`);
    } else if (cfg.dhcp) log(`${i.name}: no udhcpc in the image (${UDHCPC.join(', ')})`);
    if (!cfg.address) return notes;
    try {
      sys.setAddress(i.name, cfg.address, cfg.netmask);
      if (cfg.gateway) sys.addDefaultRoute(cfg.gateway);
      notes.push(`${i.name} ${cfg.address}/${cfg.netmask} static${cfg.gateway ? ` via ${cfg.gateway}` : ''}`);
    } catch (err) {
      log(`${i.name}: cannot set ${cfg.address}: ${(err as Error).message}`);
    }
    return notes;
  });
}
