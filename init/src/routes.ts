import { readFileSync } from 'node:fs';
import type { FsRoot } from './fsroot.ts';

interface DefaultRoute {
  iface: string;
  gateway: string;
  metric: number;
}

/** The default routes in /proc/net/route (through `iface` when given), lowest metric first. */
function defaultRouteEntries(fs: FsRoot, iface?: string): DefaultRoute[] {
  const routes: DefaultRoute[] = [];
  try {
    for (const line of readFileSync(fs.p('/proc/net/route'), 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[2] && (iface === undefined || f[0] === iface)) {
        const n = parseInt(f[2], 16);
        const gateway = [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].join('.');
        routes.push({ iface: f[0]!, gateway, metric: Number(f[6] ?? 0) });
      }
    }
  } catch {
    /* no /proc/net/route: no route */
  }
  return routes.sort((a, b) => a.metric - b.metric);
}

/** The gateway the kernel uses by default (through `iface` when given): the lowest metric's. */
export function defaultRoute(fs: FsRoot, iface?: string): string | null {
  return defaultRouteEntries(fs, iface)[0]?.gateway ?? null;
}

/** The gateways of the default routes through `iface`, lowest metric first. */
export function defaultRoutes(fs: FsRoot, iface: string): string[] {
  return defaultRouteEntries(fs, iface).map((r) => r.gateway);
}
