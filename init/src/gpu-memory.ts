import { existsSync, readFileSync } from 'node:fs';
import type { VramInfo } from '../../common/boot-report.ts';
import type { FsRoot } from './fsroot.ts';

function readNumber(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/**
 * VRAM of one GPU where its driver exposes it: amdgpu's mem_info_vram_total/used in sysfs.
 * NVIDIA's /proc/driver/nvidia names the GPU but carries no memory figures (those come from
 * NVML), and other drivers expose none: the note says so rather than guessing.
 */
export function vramInfo(fs: FsRoot, slot: string, driver: string | null): VramInfo {
  const dev = fs.p(`/sys/bus/pci/devices/${slot}`);
  const total = `${dev}/mem_info_vram_total`;
  if (existsSync(total)) {
    return { totalBytes: readNumber(total), usedBytes: readNumber(`${dev}/mem_info_vram_used`), source: `/sys/bus/pci/devices/${slot}/mem_info_vram_*` };
  }
  if (!driver) return { totalBytes: null, usedBytes: null, source: null, note: 'no driver bound' };
  const nvidia = fs.p(`/proc/driver/nvidia/gpus/${slot}/information`);
  if (existsSync(nvidia))
    return {
      totalBytes: null,
      usedBytes: null,
      source: `/proc/driver/nvidia/gpus/${slot}/information`,
      note: 'not exposed by this driver (NVIDIA reports memory through NVML only)',
    };
  return { totalBytes: null, usedBytes: null, source: null, note: `not exposed by this driver (${driver})` };
}
