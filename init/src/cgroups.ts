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

type IoCost = InitConfig['ioCost'][number];

/**
 * What turning iocost on writes to the root cgroup, disk by disk: init.json's cost model for the
 * disk first (`ctrl=user`; the kernel keeps its own figure for a parameter not given), then
 * io.cost.qos. The kernel's own model is picked by the disk's class, and a disk slower than it says
 * never looks busy to iocost, which then divides nothing between the weights (see README).
 */
export function ioCostWrites(
  disks: readonly { name: string; dev: string }[],
  ioCost: readonly IoCost[],
): { disk: string; file: 'io.cost.model' | 'io.cost.qos'; line: string }[] {
  return disks.flatMap((d) => {
    const c = ioCost.find((x) => x.disk === d.name);
    const model = c?.model.trim();
    const qos = c?.qos.trim();
    return [
      ...(model ? [{ disk: d.name, file: 'io.cost.model' as const, line: `${d.dev} ctrl=user model=linear ${model}` }] : []),
      { disk: d.name, file: 'io.cost.qos' as const, line: `${d.dev} enable=1${qos ? ` ctrl=user ${qos}` : ''}` },
    ];
  });
}

/** iocost on every weighed disk, with init.json's model and QoS where it gives them; says which disks. */
export function enableIoCost(fs: FsRoot, log: (m: string) => void, ioCost: readonly IoCost[] = []): void {
  const root = fs.p('/sys/fs/cgroup');
  const disks = weighedDisks(fs);
  const failed = new Set<string>();
  for (const w of ioCostWrites(disks, ioCost))
    try {
      if (!failed.has(w.disk)) writeFileSync(`${root}/${w.file}`, w.line);
    } catch (err) {
      failed.add(w.disk);
      log(`io.weight: ${w.file} of ${w.disk} ("${w.line}"): ${(err as Error).message}`);
    }
  const on = disks.filter((d) => !failed.has(d.name)).map((d) => `${d.name} (${d.dev}${ioCost.some((c) => c.disk === d.name) ? ", init.json's ioCost" : ''})`);
  log(`io.weight: iocost on ${on.length ? on.join(', ') : 'no disk'}`);
  const absent = ioCost.filter((c) => !disks.some((d) => d.name === c.disk)).map((c) => c.disk);
  if (absent.length) log(`io.weight: init.json's ioCost names ${absent.join(', ')}, which this machine does not have as a disk`);
}
