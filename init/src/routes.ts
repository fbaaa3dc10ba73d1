import { readFileSync } from 'node:fs';
import type { FsRoot } from './fsroot.ts';

/** The gateway of the default route (through `iface` when given), from /proc/net/route. */
export function defaultRoute(fs: FsRoot, iface?: string): string | null {
  try {
    for (const line of readFileSync(fs.p('/proc/net/route'), 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === '00000000' && f[2] && (iface === undefined || f[0] === iface)) {
        const n = parseInt(f[2], 16);
        return [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255].join('.');
      }
    }
  } catch {
    /* no /proc/net/route: no route */
  }
  return null;
}
