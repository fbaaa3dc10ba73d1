import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { InitConfig } from './config.ts';
import type { FsRoot } from './fsroot.ts';

type ServiceSpec = InitConfig['services'][number];

/** The cgroup v2 files a service's limits become; its start-up CPU weight until the machine is ready. */
export function cgroupFiles(s: ServiceSpec, startingUp: boolean): Record<string, string> {
  const files: Record<string, string> = { 'cpu.weight': String(startingUp ? s.startupCpuWeight : s.cpuWeight), 'memory.max': s.memoryMax || 'max' };
  // 0 is the kernel's own default: one cgroup write less per service in the boot.
  if (s.memoryLow !== '0') files['memory.low'] = s.memoryLow;
  if (s.cpuset) files['cpuset.cpus'] = s.cpuset;
  if (s.ioWeight !== 100) files['io.weight'] = `default ${s.ioWeight}`;
  return files;
}

/**
 * The disks iocost can weigh, as `MAJ:MIN` with their names: every block device backed by a device
 * (loop, ram and zram devices have none; their I/O lands on a disk that is weighed).
 */
export function weighedDisks(fs: FsRoot): { name: string; dev: string }[] {
  const block = fs.p('/sys/block');
  let names: string[] = [];
  try {
    names = readdirSync(block);
  } catch {
    return [];
  }
  return names
    .filter((n) => existsSync(`${block}/${n}/device`))
    .map((name) => ({ name, dev: readFileSync(`${block}/${name}/dev`, 'utf8').trim() }))
    .filter((d) => /^\d+:\d+$/.test(d.dev));
}

/**
 * Turn controllers on for the children of each directory, parents first; returns the ones the
 * kernel refused, each with its reason.
 */
export function enableControllers(dirs: readonly string[], controllers: readonly string[]): string[] {
  const refused: string[] = [];
  for (const dir of dirs)
    for (const c of controllers)
      try {
        writeFileSync(`${dir}/cgroup.subtree_control`, `+${c}`);
      } catch (err) {
        refused.push(`+${c} in ${dir}: ${(err as Error).message}`);
      }
  return refused;
}

/** iocost on every weighed disk, through the root cgroup's io.cost.qos; says which disks. */
export function enableIoCost(fs: FsRoot, log: (m: string) => void): void {
  const root = fs.p('/sys/fs/cgroup');
  const on: string[] = [];
  for (const d of weighedDisks(fs))
    try {
      writeFileSync(`${root}/io.cost.qos`, `${d.dev} enable=1`);
      on.push(`${d.name} (${d.dev})`);
    } catch (err) {
      log(`io.weight: iocost on ${d.name} (${d.dev}): ${(err as Error).message}`);
    }
  log(`io.weight: iocost on ${on.length ? on.join(', ') : 'no disk'}`);
}
