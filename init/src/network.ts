import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** busybox puts its applets in different directories across versions. */
const UDHCPC = ['/sbin/udhcpc', '/usr/sbin/udhcpc', '/bin/udhcpc', '/usr/bin/udhcpc'];
import { networkInterfaces } from 'node:os';
import type { InterfaceInfo } from '../../common/boot-report.ts';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';
import type { InitConfig } from './config.ts';
import { runTracked } from './children.ts';

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

export interface Lease {
  ip: string;
  subnet: string;
  router?: string;
}

/** What our udhcpc script prints for a lease: `AIOS_DHCP ip=... subnet=... router=...`. */
export function parseLease(stdout: string): Lease | undefined {
  const line = stdout
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('AIOS_DHCP '));
  if (!line) return undefined;
  const kv = Object.fromEntries(
    line
      .slice(10)
      .trim()
      .split(/\s+/)
      .map((p) => p.split('=') as [string, string]),
  );
  if (!kv.ip) return undefined;
  return { ip: kv.ip, subnet: kv.subnet || '255.255.255.0', router: kv.router?.split(',')[0] || undefined };
}

/** Bring up loopback and every physical Ethernet interface; DHCP, else the static fallback. */
export async function setupNetwork(sys: Sys, fs: FsRoot, cfg: InitConfig['network'], log: (m: string) => void): Promise<string[]> {
  const notes: string[] = [];
  try {
    sys.linkUp('lo');
    sys.setAddress('lo', '127.0.0.1', '255.0.0.0');
  } catch (err) {
    log(`loopback: ${(err as Error).message}`);
  }
  const eths = listInterfaces(fs).filter((i) => i.kind === 'ethernet' && i.physical);
  await Promise.all(
    eths.map(async (i) => {
      try {
        sys.linkUp(i.name);
      } catch (err) {
        return void log(`${i.name}: cannot bring up: ${(err as Error).message}`);
      }
      let lease: Lease | undefined;
      if (cfg.dhcp) {
        const r = await runTracked(
          UDHCPC.find((p) => existsSync(p)) ?? 'udhcpc',
          [
            '-i',
            i.name,
            '-f',
            '-q',
            '-n',
            '-t',
            String(Math.max(2, Math.ceil(cfg.dhcpTimeoutSeconds / 2))),
            '-T',
            '2',
            '-s',
            '/usr/libexec/aios/udhcpc.script',
          ],
          cfg.dhcpTimeoutSeconds * 1000 + 2000,
        );
        lease = parseLease(r.stdout);
        if (!lease) log(`${i.name}: no DHCP lease (udhcpc exit ${r.code}${r.stderr ? `: ${r.stderr.trim().split('\n').pop()}` : ''})`);
      }
      if (!lease && cfg.address) lease = { ip: cfg.address, subnet: cfg.netmask, router: cfg.gateway || undefined };
      if (!lease) return;
      try {
        sys.setAddress(i.name, lease.ip, lease.subnet);
        if (lease.router) sys.addDefaultRoute(lease.router);
        notes.push(`${i.name} ${lease.ip}/${lease.subnet}${lease.router ? ` via ${lease.router}` : ''}`);
      } catch (err) {
        log(`${i.name}: cannot set ${lease.ip}: ${(err as Error).message}`);
      }
    }),
  );
  return notes;
}
