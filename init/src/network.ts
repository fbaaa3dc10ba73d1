import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import type { InterfaceInfo } from '../../common/boot-report.ts';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';
import type { InitConfig } from './config.ts';
import { dhcp, LEASE_DIR } from './dhcp.ts';

/** busybox puts its applets in different directories across versions. */
const UDHCPC = ['/sbin/udhcpc', '/usr/sbin/udhcpc', '/bin/udhcpc', '/usr/bin/udhcpc'];

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

/**
 * Bring up loopback and every physical Ethernet interface not in `handled` yet, and return at
 * once: one promise per interface, with a note once it has its address. With DHCP, a udhcpc per
 * interface runs for good, renewing its lease; its script records each lease and says so on its
 * output, and aios-init applies it (address, route, resolv.conf). The promise waits for the first
 * lease, then falls back to the static address when one is configured. Called before the modules
 * are loaded (DHCP then overlaps them) and again after, for the interfaces whose drivers are modules.
 */
export function startNetwork(
  sys: Sys,
  fs: FsRoot,
  cfg: InitConfig['network'],
  startService: (s: InitConfig['services'][number], onLine: (line: string) => void) => void,
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
      const lease = await dhcp(sys, fs, i.name, udhcpc, cfg.dhcpTimeoutSeconds, startService, log);
      if (lease)
        return [
          `${i.name} ${lease.ip}/${lease.subnet} by DHCP from ${lease.server ?? '?'}${lease.routers.length ? ` via ${lease.routers.join(', ')}` : ''}, lease ${lease.leaseSeconds ?? '?'} s`,
        ];
      log(`${i.name}: no DHCP lease within ${cfg.dhcpTimeoutSeconds} s (udhcpc keeps asking)`);
    } else if (cfg.dhcp) log(`${i.name}: no udhcpc in the image (${UDHCPC.join(', ')})`);
    if (!cfg.address) return notes;
    try {
      sys.setAddress(i.name, cfg.address, cfg.netmask);
      if (cfg.gateway) sys.setDefaultRoutes(i.name, [cfg.gateway]);
      notes.push(`${i.name} ${cfg.address}/${cfg.netmask} static${cfg.gateway ? ` via ${cfg.gateway}` : ''}`);
    } catch (err) {
      log(`${i.name}: cannot set ${cfg.address}: ${(err as Error).message}`);
    }
    return notes;
  });
}
