// The boot report: written by aios-init as one line on the serial console, read by `aios check`.
// Defined once here so that the writer and the reader cannot drift.

export const REPORT_MARKER = 'AIOS-BOOT-REPORT ';
export const REPORT_VERSION = 1;
/** Printed by stage 1 when it cannot hand over to aios-init: the boot is over. */
export const STAGE1_FAILED_MARKER = 'AIOS-STAGE1-FAILED ';
/** Console lines after which no boot report will come. */
export const FATAL_LINE = /AIOS-STAGE1-FAILED |Kernel panic - not syncing/;
/** A report line longer than this is refused: the console is not a place for megabytes. */
export const MAX_REPORT_BYTES = 1024 * 1024;

export interface MountInfo {
  source: string;
  target: string;
  fstype: string;
  options: string;
}
export interface InterfaceInfo {
  name: string;
  mac: string;
  up: boolean;
  addresses: string[];
  kind: 'ethernet' | 'loopback' | 'other';
}
export interface GpuInfo {
  slot: string;
  vendor: string;
  device: string;
  vendorName: string;
  class: string;
  driver: string | null;
  module: string | null;
  vram?: VramInfo;
}
/** VRAM as the driver exposes it; `note` says why there are no figures (never a guess). */
export interface VramInfo {
  totalBytes: number | null;
  usedBytes: number | null;
  source: string | null;
  note?: string;
}
/** The model server: loading until its health URL answers 200, with the reason when it failed. */
export interface InferenceInfo {
  service: string;
  state: 'loading' | 'ready' | 'failed';
  reason?: string;
  model: string;
  modelName: string;
  modelSha256: string;
  loadMs: number | null;
  healthUrl: string;
  restartsForHealth: number;
}
/** One memory-pressure (PSI) trigger event. */
export interface PressureEvent {
  uptime: number;
  group: string;
  avg10: number | null;
}
export interface ServiceInfo {
  name: string;
  pid: number | null;
  state: 'running' | 'exited' | 'backoff' | 'stopped' | 'failed';
  restarts: number;
  cgroup: string | null;
  lastExit?: string;
  reason?: string;
  /** Its output file in the guest (services without a tty). */
  log?: string;
}
export interface WatchdogInfo {
  device: string;
  armed: boolean;
  /** The driver's name for it (WDIOC_GETSUPPORT), e.g. "iTCO_wdt" or "i6300ESB timer". */
  identity?: string;
  /** The timeout the driver took (it may round the one asked for). */
  timeoutSeconds?: number;
  keepAliveMs?: number;
  detail?: string;
}
/** planned: every module aios-init chose to load, dependencies included: the allowed set. */
export interface ModuleStrategy {
  always: string[];
  detected: string[];
  never: string[];
  refused: string[];
  missing: string[];
  builtin: string[];
  planned: string[];
}

/** The A/B slots as aios-init found them (common/slots.ts): this boot's, the other, and the updates. */
export interface SlotReport {
  slot: 'a' | 'b';
  /** The build on this slot, as its boot entry names it; null when no entry names it. */
  build: string | null;
  /** Its generation: the newest sorts first in systemd-boot. */
  version: number | null;
  /** Whether this boot is a try of a slot not yet marked good, and its counter. */
  trial: boolean;
  tries?: { left: number; done: number };
  markedGood: boolean;
  other: { slot: 'a' | 'b'; state: 'empty' | 'good' | 'trial' | 'abandoned'; build: string | null; version: number | null; why?: string };
  update: { url: string; state: 'off' | 'waiting' | 'current' | 'writing' | 'written' | 'refused' | 'failed'; detail?: string; build?: string };
  /** Why the slots could not be read (the EFI partition missing, mtools failing). */
  error?: string;
}

export interface BootReport {
  version: number;
  pid1: { pid: number; comm: string; exe: string; rssKB: number };
  kernel: { release: string; cmdline: string };
  /** Guest uptime (s, /proc/uptime) when the report was made. */
  uptimeAtReady: number;
  /** Time from aios-init's exec to the report (ms, from its own clock). */
  execToReadyMs: number;
  /**
   * Where the time before aios-init's first step went (ms from exec): V8 started, Node's own
   * bootstrap done, then aios-init's code loaded; and whether V8 took the code cache built for it
   * (used), refused it (rejected: every function then compiled on the machine), or none was there.
   */
  startup?: { v8StartMs: number; nodeBootstrapMs: number; mainMs: number; codeCache: 'used' | 'rejected' | 'none' };
  steps: { name: string; ms: number; ok: boolean; detail?: string }[];
  mounts: MountInfo[];
  /** Mount points the image declares (/etc/fstab), which must all be mounted. */
  declaredMounts: string[];
  interfaces: InterfaceInfo[];
  defaultRoute: string | null;
  modules: string[];
  moduleStrategy: ModuleStrategy;
  gpus: GpuInfo[];
  services: ServiceInfo[];
  pressure: Record<string, { avg10: number; avg60: number } | null>;
  statusPort: number;
  procFiles: Record<string, boolean>;
  /** Zombie processes whose parent is PID 1 right now (pids): orphans not reaped yet. */
  zombies: number[];
  addon: { loaded: boolean; error?: string };
  /** The hardware watchdog: armed and kept alive by PID 1's event loop, or why not (off, not present, the driver's error). */
  watchdog?: WatchdogInfo;
  inference?: InferenceInfo;
  pressureEvents?: PressureEvent[];
  /** Which PSI triggers are registered, or why not. */
  pressureTriggers?: string[];
  /** The console shell: on only when asked for (kernel flag aios.shell, or init.json shell). */
  shell?: { on: boolean; tty: string | null; why: string };
  /** /etc/aios/init.json errors (file: key: message); defaults were used for those keys. */
  configErrors?: string[];
  /** The A/B slots, on a boot from the disk's slots (root=PARTLABEL=aios-root-a or -b). */
  slots?: SlotReport;
  /** DHCP leases as udhcpc's script applied them (server, lease time): where the addresses came from. */
  dhcp?: { interface: string; ip: string; routers: string[]; dns: string[]; server: string | null; leaseSeconds: number | null; uptime: number | null }[];
}

export type ParseResult = { ok: true; report: BootReport } | { ok: false; error: string };

export function formatReportLine(r: BootReport): string {
  return REPORT_MARKER + JSON.stringify(r);
}

const REQUIRED: (keyof BootReport)[] = ['version', 'pid1', 'kernel', 'uptimeAtReady', 'mounts', 'interfaces', 'modules', 'moduleStrategy', 'gpus', 'services'];

/** Parse one serial line; anything that is not a well-formed report says why. */
const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
/** What the host reads of a report, by type: a report of another shape is refused with its fields named, never read. */
const SHAPES: [string, (v: unknown) => boolean, string, boolean][] = [
  ['pid1', isObject, 'an object', true],
  ['kernel', isObject, 'an object', true],
  ['uptimeAtReady', (v) => typeof v === 'number', 'a number', true],
  ['mounts', Array.isArray, 'a list', true],
  ['interfaces', Array.isArray, 'a list', true],
  ['modules', Array.isArray, 'a list', true],
  ['gpus', Array.isArray, 'a list', true],
  ['services', Array.isArray, 'a list', true],
  ['configErrors', (v) => Array.isArray(v) && v.every((e) => typeof e === 'string'), 'a list of strings', false],
  ['startup', isObject, 'an object', false],
  ['execToReadyMs', (v) => typeof v === 'number', 'a number', false],
];

function wrongShapes(r: Record<string, unknown>): string[] {
  return SHAPES.filter(([k, ok, , required]) => (required || r[k] !== undefined) && !ok(r[k])).map(([k, , what]) => `${k} (not ${what})`);
}

export function parseReportLine(line: string): ParseResult | undefined {
  const at = line.indexOf(REPORT_MARKER);
  if (at < 0) return undefined;
  const body = line.slice(at + REPORT_MARKER.length).trim();
  if (Buffer.byteLength(body) > MAX_REPORT_BYTES) return { ok: false, error: `boot report larger than ${MAX_REPORT_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    return { ok: false, error: `boot report is not valid JSON: ${(err as Error).message}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return { ok: false, error: 'boot report is not a JSON object' };
  const missing = REQUIRED.filter((k) => !(k in (value as object)));
  if (missing.length) return { ok: false, error: `boot report lacks ${missing.join(', ')}` };
  const wrong = wrongShapes(value as Record<string, unknown>);
  if (wrong.length) return { ok: false, error: `boot report fields of the wrong type: ${wrong.join(', ')}` };
  const r = value as BootReport;
  if (r.version !== REPORT_VERSION) return { ok: false, error: `boot report version ${String(r.version)}, expected ${REPORT_VERSION}` };
  return { ok: true, report: r };
}
