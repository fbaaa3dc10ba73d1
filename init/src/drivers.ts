import { readFileSync } from 'node:fs';
import type { GpuInfo, ModuleStrategy } from '../../common/boot-report.ts';
import type { InitConfig } from './config.ts';
import type { FsRoot } from './fsroot.ts';
import { builtinFromSysfs, loadedModules, loadModules, planModules, readModuleIndex } from './modules.ts';
import { charMajors, gpuMinors, nvidiaNodes } from './nvidia.ts';
import { gpuInfo, isDisplay, modulesFor, scanPci } from './pci.ts';
import type { Sys } from './sys.ts';

export interface DriverLog {
  info(m: string): void;
  warn(m: string): void;
}

export interface DriverSetup {
  strategy: ModuleStrategy;
  gpus: GpuInfo[];
  /** Device nodes made for drivers that make none themselves (NVIDIA's). */
  nodes: string[];
}

/** Scan PCI, plan and load modules (the spec's strategy), then make the NVIDIA device nodes. */
export function setupModules(sys: Sys, fs: FsRoot, config: InitConfig, log: DriverLog): DriverSetup {
  const release = readFileSync(fs.p('/proc/sys/kernel/osrelease'), 'utf8').trim();
  const index = readModuleIndex(fs, release);
  const display = scanPci(fs).filter(isDisplay);
  const detected: string[] = [];
  const gpus: GpuInfo[] = [];
  const want = { nvidiaModeset: config.modules.nvidiaModeset };
  for (const d of display) {
    const mods = modulesFor(d, (n) => index.deps.has(n), want);
    detected.push(...mods);
    gpus.push(gpuInfo(d, mods[0] ?? null));
  }
  const loaded = loadedModules(fs);
  for (const b of builtinFromSysfs(fs, loaded)) index.builtin.add(b);
  const plan = planModules(index, { always: config.modules.always, detected, extra: config.modules.extra, never: config.modules.never, loaded });
  if (plan.strategy.refused.length) log.warn(`refused never-load modules: ${plan.strategy.refused.join(', ')}`);
  if (plan.strategy.missing.length) log.info(`modules not in this kernel: ${plan.strategy.missing.join(', ')}`);
  const params: Record<string, string> = config.modules.nvidiaModeset ? { nvidia_drm: 'modeset=1' } : {};
  loadModules(sys, plan.files, (m) => log.warn(m), params);
  const nodes = makeNvidiaNodes(sys, fs, log);
  log.info(`GPUs: ${gpus.length ? gpus.map((g) => `${g.vendorName} ${g.device} -> ${g.module ?? 'no module'}`).join(', ') : 'none present'}`);
  return { strategy: plan.strategy, gpus, nodes };
}

function makeNvidiaNodes(sys: Sys, fs: FsRoot, log: DriverLog): string[] {
  const loaded = loadedModules(fs);
  if (!loaded.includes('nvidia')) return [];
  let devices = '';
  try {
    devices = readFileSync(fs.p('/proc/devices'), 'utf8');
  } catch {
    /* the fixed major still applies */
  }
  const made: string[] = [];
  for (const n of nvidiaNodes(charMajors(devices), gpuMinors(fs), loaded)) {
    try {
      sys.mknodChar(fs.p(n.path), n.mode, n.major, n.minor);
      made.push(n.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') made.push(n.path);
      else log.warn(`mknod ${n.path} (${n.major}:${n.minor}) failed: ${(err as Error).message}`);
    }
  }
  log.info(`NVIDIA device nodes: ${made.join(' ') || 'none'}`);
  return made;
}
