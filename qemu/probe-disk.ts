import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../common/exec.ts';
import { PROBE_DISK_CFG, probeDiskConfig } from '../common/probe.ts';

/** A 1.44 MB FAT image holding aios-check.cfg, made with mtools (no root, no loop device). */
export async function makeProbeDisk(dir: string, nonce: string): Promise<string> {
  const img = join(dir, 'aios-check.img');
  const cfg = join(dir, PROBE_DISK_CFG);
  await writeFile(cfg, probeDiskConfig(nonce));
  await run('mformat', ['-i', img, '-C', '-f', '1440', '::']);
  await run('mcopy', ['-i', img, cfg, `::/${PROBE_DISK_CFG}`]);
  return img;
}
