import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { REPORT_VERSION, type BootReport, type GpuInfo, type ModuleStrategy, type ServiceInfo } from '../../common/boot-report.ts';
import { PROBE_FILES } from '../../common/probe.ts';
import type { FsRoot } from './fsroot.ts';
import { readMounts } from './mounts.ts';
import { defaultRoute, interfaceInfo } from './network.ts';
import { loadedModules } from './modules.ts';
import { zombieChildren } from './reaper.ts';

function read(fs: FsRoot, p: string): string {
  try {
    return readFileSync(fs.p(p), 'utf8').trim();
  } catch {
    return '';
  }
}

export function parsePressure(text: string): { avg10: number; avg60: number } | null {
  const m = /^some avg10=([\d.]+) avg60=([\d.]+)/m.exec(text);
  return m ? { avg10: Number(m[1]), avg60: Number(m[2]) } : null;
}

export interface ReportInputs {
  startedAt: number; // performance.now() origin of aios-init, ms
  steps: BootReport['steps'];
  declaredMounts: string[];
  strategy: ModuleStrategy;
  gpus: GpuInfo[];
  services: ServiceInfo[];
  statusPort: number;
  addon: BootReport['addon'];
  inference?: BootReport['inference'];
  pressureEvents?: BootReport['pressureEvents'];
  pressureTriggers?: BootReport['pressureTriggers'];
  shell?: BootReport['shell'];
  dhcp?: BootReport['dhcp'];
  configErrors?: BootReport['configErrors'];
}

export function buildReport(fs: FsRoot, inp: ReportInputs): BootReport {
  let exe = '';
  try {
    exe = readlinkSync(fs.p('/proc/1/exe'));
  } catch {
    exe = process.execPath;
  }
  return {
    version: REPORT_VERSION,
    pid1: { pid: process.pid, comm: read(fs, '/proc/1/comm'), exe, rssKB: Math.round(process.memoryUsage.rss() / 1024) },
    kernel: { release: read(fs, '/proc/sys/kernel/osrelease'), cmdline: read(fs, '/proc/cmdline') },
    uptimeAtReady: Number(read(fs, '/proc/uptime').split(' ')[0] || 0),
    execToReadyMs: Math.round(performance.now() - inp.startedAt),
    steps: inp.steps,
    mounts: readMounts(fs),
    declaredMounts: inp.declaredMounts,
    interfaces: interfaceInfo(fs),
    defaultRoute: defaultRoute(fs),
    modules: loadedModules(fs),
    moduleStrategy: inp.strategy,
    gpus: inp.gpus,
    services: inp.services,
    pressure: Object.fromEntries(['cpu', 'memory', 'io'].map((k) => [k, parsePressure(read(fs, `/proc/pressure/${k}`))])),
    statusPort: inp.statusPort,
    procFiles: Object.fromEntries(PROBE_FILES.map((f) => [f, existsSync(fs.p(f))])),
    addon: inp.addon,
    inference: inp.inference,
    pressureEvents: inp.pressureEvents,
    pressureTriggers: inp.pressureTriggers,
    shell: inp.shell,
    dhcp: inp.dhcp,
    configErrors: inp.configErrors,
    zombies: zombieChildren(fs, 1),
  };
}

export interface StatusOptions {
  port: number;
  /** 0.0.0.0 by default: the host reaches it through QEMU's user network (10.0.2.15), a fleet over the LAN. */
  bind?: string;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
}

/** Few and small: a flood of requests must not starve PID 1's own loop (reaping, supervision, shutdown). */
export const STATUS_LIMITS = { maxConnections: 8, headersTimeoutMs: 5000, requestTimeoutMs: 5000, maxHeaderSize: 8192 };

/** The read-only status endpoint: GET /status (or /) answers the current report as JSON. */
export function serveStatus(o: StatusOptions, current: () => BootReport, log: (m: string) => void): Server {
  const server = createServer(
    { maxHeaderSize: STATUS_LIMITS.maxHeaderSize, requestTimeout: STATUS_LIMITS.requestTimeoutMs, headersTimeout: STATUS_LIMITS.headersTimeoutMs },
    (req, res) => {
      try {
        if (o.token && req.headers.authorization !== `Bearer ${o.token}`) {
          res.writeHead(401, { 'WWW-Authenticate': 'Bearer', 'Content-Type': 'text/plain' }).end('a bearer token is required\n');
          return;
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain', Connection: 'close' }).end('method not allowed\n');
          return;
        }
        const path = (req.url ?? '/').split('?')[0];
        if (path !== '/' && path !== '/status') {
          res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try GET /status\n');
          return;
        }
        const body = JSON.stringify(current());
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(req.method === 'HEAD' ? undefined : body);
      } catch (err) {
        res.writeHead(500).end();
        log(`status endpoint: ${(err as Error).message}`);
      }
    },
  );
  server.maxConnections = STATUS_LIMITS.maxConnections;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });
  server.on('error', (err) => log(`status endpoint on ${o.bind ?? '0.0.0.0'}:${o.port}: ${err.message}`));
  server.listen(o.port, o.bind ?? '0.0.0.0');
  return server;
}
