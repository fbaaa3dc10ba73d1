import { readdirSync, readFileSync } from 'node:fs';
import { MTOOLS, MTOOLS_ENV, mtoolsArgs, parseBareList } from '../../common/esp-tools.ts';
import type { FsRoot } from './fsroot.ts';
import { runToolOk, type ToolChildren } from './run-tool.ts';

/** The device node of the partition whose GPT name is `name` (the kernel's PARTNAME in its uevent), or undefined. */
export function partitionNode(fs: FsRoot, name: string): string | undefined {
  let devs: string[];
  try {
    devs = readdirSync(fs.p('/sys/class/block'));
  } catch {
    return undefined;
  }
  for (const d of devs) {
    let uevent: string;
    try {
      uevent = readFileSync(fs.p(`/sys/class/block/${d}/uevent`), 'utf8');
    } catch {
      continue;
    }
    if (uevent.split('\n').includes(`PARTNAME=${name}`)) return `/dev/${/^DEVNAME=(.+)$/m.exec(uevent)?.[1] ?? d}`;
  }
  return undefined;
}

/** A partition's size in bytes, from sysfs (512-byte sectors whatever the disk's). */
export function partitionBytes(fs: FsRoot, node: string): number {
  return Number(readFileSync(fs.p(`/sys/class/block/${node.replace(/^\/dev\//, '')}/size`), 'utf8').trim()) * 512;
}

/** The EFI system partition through mtools: what aios-init reads and changes of systemd-boot's files. */
export class Esp {
  constructor(
    private readonly children: ToolChildren,
    readonly dev: string,
  ) {}

  private run(args: string[]): Promise<string> {
    return runToolOk(this.children, MTOOLS, args, MTOOLS_ENV);
  }

  async list(dir: string): Promise<string[]> {
    return parseBareList(await this.run(mtoolsArgs.list(this.dev, dir)));
  }

  read(file: string): Promise<string> {
    return this.run(mtoolsArgs.read(this.dev, file));
  }

  async rename(from: string, to: string): Promise<void> {
    await this.run(mtoolsArgs.rename(this.dev, from, to));
  }

  async remove(file: string): Promise<void> {
    await this.run(mtoolsArgs.remove(this.dev, file));
  }

  async put(host: string, file: string): Promise<void> {
    await this.run(mtoolsArgs.put(this.dev, host, file));
  }
}
