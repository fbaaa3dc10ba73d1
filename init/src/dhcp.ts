// DHCP: udhcpc under supervision records each lease and reports it on its output; aios-init applies it.
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FsRoot } from './fsroot.ts';
import type { Sys } from './sys.ts';
import { ownService, type InitConfig } from './config.ts';
import { defaultRoutes } from './routes.ts';

/** A DHCP lease as the udhcpc script leaves it in /run/aios/dhcp/<interface>.lease. */
export interface DhcpLease {
  interface: string;
  event: string;
  ip: string;
  subnet: string;
  /** The lease's routers in its order, at most MAX_ROUTERS of them. */
  routers: string[];
  dns: string[];
  domain: string | null;
  server: string | null;
  leaseSeconds: number | null;
  /** Guest uptime when the lease was applied. */
  uptime: number | null;
}

export const LEASE_DIR = '/run/aios/dhcp';
/** The most default routes a lease sets (the addon's limit); a lease naming more is rare. */
export const MAX_ROUTERS = 8;

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
    routers: (kv.router ?? '').split(/\s+/).filter(Boolean).slice(0, MAX_ROUTERS),
    dns: (kv.dns ?? '').split(/\s+/).filter(Boolean),
    domain: kv.domain || null,
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
      .flatMap((f) => readLease(fs, f.slice(0, -'.lease'.length)) ?? []);
  } catch {
    return [];
  }
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function readLease(fs: FsRoot, iface: string): DhcpLease | undefined {
  const text = readOrUndefined(fs.p(`${LEASE_DIR}/${iface}.lease`));
  return text === undefined ? undefined : parseLeaseFile(iface, text);
}

/** The line udhcpc's script writes once it has recorded a lease: `AIOS_DHCP <event> <interface> ...`. */
export function leaseLine(line: string): { event: 'bound' | 'renew'; iface: string } | undefined {
  const m = /^AIOS_DHCP (bound|renew) (\S+)/.exec(line);
  return m ? { event: m[1] as 'bound' | 'renew', iface: m[2]! } : undefined;
}

/**
 * Where leases put the resolver configuration: the root is read-only (dm-verity), and the image's
 * /etc/resolv.conf is a link to this file.
 */
export const RESOLV_CONF = '/run/aios/resolv.conf';

/** resolv.conf from a lease's DNS servers and domain; undefined when it names no server. */
export function resolvConf(lease: Pick<DhcpLease, 'dns' | 'domain'>): string | undefined {
  if (!lease.dns.length) return undefined;
  return [...(lease.domain ? [`search ${lease.domain}`] : []), ...lease.dns.map((d) => `nameserver ${d}`)].join('\n') + '\n';
}

/**
 * Apply a lease: its address (when it differs from the one applied before), a default route
 * through each of its routers in their order (when those routes are not there already) and
 * resolv.conf (when it changes).
 * Unchanged parts are left alone, so a renewal does not drop the routes of the address it keeps.
 * Returns what could not be done.
 */
export function applyLease(sys: Sys, fs: FsRoot, lease: DhcpLease, before: DhcpLease | undefined): string[] {
  const problems: string[] = [];
  const i = lease.interface;
  const fail = (what: string, err: unknown) => problems.push(`${i}: ${what}: ${(err as Error).message}`);
  if (before?.ip !== lease.ip || before.subnet !== lease.subnet)
    try {
      sys.setAddress(i, lease.ip, lease.subnet);
    } catch (err) {
      fail(`address ${lease.ip}/${lease.subnet}`, err);
    }
  if (lease.routers.length && defaultRoutes(fs, i).join(' ') !== lease.routers.join(' '))
    try {
      sys.setDefaultRoutes(i, lease.routers);
    } catch (err) {
      fail(`default routes via ${lease.routers.join(', ')}`, err);
    }
  const conf = resolvConf(lease);
  const path = fs.p(RESOLV_CONF);
  if (conf && conf !== readOrUndefined(path))
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(`${path}.new`, conf);
      renameSync(`${path}.new`, path);
    } catch (err) {
      fail(RESOLV_CONF, err);
    }
  return problems;
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
    // A packet socket bound to the interface, port 68; the lease itself is applied by aios-init.
    capabilities: ['CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
  });
}

/**
 * Start udhcpc on `iface` and apply each lease its script reports, for the life of the machine.
 * Resolves with the first lease applied, or undefined after `timeoutSeconds` without one.
 */
export function dhcp(
  sys: Sys,
  fs: FsRoot,
  iface: string,
  udhcpc: string,
  timeoutSeconds: number,
  startService: (s: InitConfig['services'][number], onLine: (line: string) => void) => void,
  log: (m: string) => void,
): Promise<DhcpLease | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutSeconds * 1000);
    let applied: DhcpLease | undefined;
    startService(dhcpService(iface, udhcpc), (line) => {
      if (leaseLine(line)?.iface !== iface) return;
      const lease = readLease(fs, iface);
      if (!lease) return log(`${iface}: udhcpc reported a lease, but ${LEASE_DIR}/${iface}.lease holds none`);
      for (const p of applyLease(sys, fs, lease, applied)) log(p);
      applied = lease;
      clearTimeout(timer);
      resolve(lease);
    });
  });
}
