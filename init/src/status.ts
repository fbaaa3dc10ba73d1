import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { REPORT_VERSION, type BootReport, type GpuInfo, type ModuleStrategy, type ServiceInfo } from '../../common/boot-report.ts';
import { PROBE_FILES } from '../../common/probe.ts';
import type { FsRoot } from './fsroot.ts';
import { readMounts } from './mounts.ts';
import { interfaceInfo } from './network.ts';
import { defaultRoute } from './routes.ts';
import { loadedModules } from './modules.ts';
import { zombieChildren } from './reaper.ts';
import { now, onTimeOrigin } from './clock.ts';

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

/** When the machine became ready: a clock.ts now() reading, and the kernel's uptime in seconds. */
export interface ReadyMoment {
  at: number;
  uptime: number;
}

export function readyMoment(fs: FsRoot): ReadyMoment {
  return { at: now(), uptime: Number(read(fs, '/proc/uptime').split(' ')[0] || 0) };
}

export interface ReportInputs {
  ready: ReadyMoment;
  startup?: BootReport['startup'];
  steps: BootReport['steps'];
  declaredMounts: string[];
  strategy: ModuleStrategy;
  gpus: GpuInfo[];
  services: ServiceInfo[];
  statusPort: number;
  addon: BootReport['addon'];
  watchdog?: BootReport['watchdog'];
  inference?: BootReport['inference'];
  pressureEvents?: BootReport['pressureEvents'];
  pressureTriggers?: BootReport['pressureTriggers'];
  shell?: BootReport['shell'];
  dhcp?: BootReport['dhcp'];
  configErrors?: BootReport['configErrors'];
  slots?: BootReport['slots'];
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
    uptimeAtReady: inp.ready.uptime,
    execToReadyMs: Math.round(onTimeOrigin(inp.ready.at)),
    startup: inp.startup,
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
    watchdog: inp.watchdog,
    inference: inp.inference,
    pressureEvents: inp.pressureEvents,
    pressureTriggers: inp.pressureTriggers,
    shell: inp.shell,
    dhcp: inp.dhcp,
    configErrors: inp.configErrors,
    ...(inp.slots ? { slots: inp.slots } : {}),
    zombies: zombieChildren(fs, 1),
  };
}
