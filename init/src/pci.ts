import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { GpuInfo } from '../../common/boot-report.ts';
import { gpuModules, isDisplayClass } from '../../common/gpu-modules.ts';
import type { FsRoot } from './fsroot.ts';

export interface PciDevice {
  slot: string;
  vendor: string;
  device: string;
  class: string;
  driver: string | null;
}

const VENDORS: Record<string, string> = {
  '0x10de': 'NVIDIA',
  '0x1002': 'AMD',
  '0x8086': 'Intel',
  '0x1234': 'QEMU',
  '0x1af4': 'Red Hat (virtio)',
  '0x1b36': 'Red Hat (QEMU)',
};

export function scanPci(fs: FsRoot): PciDevice[] {
  const dir = fs.p('/sys/bus/pci/devices');
  let slots: string[];
  try {
    slots = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const read = (slot: string, f: string) => {
    try {
      return readFileSync(join(dir, slot, f), 'utf8')
        .trim()
        .toLowerCase();
    } catch {
      return '';
    }
  };
  return slots.map((slot) => {
    let driver: string | null = null;
    try {
      driver = basename(readlinkSync(join(dir, slot, 'driver')));
    } catch {
      driver = null;
    }
    return { slot, vendor: read(slot, 'vendor'), device: read(slot, 'device'), class: read(slot, 'class'), driver };
  });
}

/** Display controllers: PCI class 0x03xxxx. */
export function isDisplay(d: PciDevice): boolean {
  return isDisplayClass(d.class);
}

/** Which modules a device asks for, following the spec's load-on-detection rules. */
export function modulesFor(d: PciDevice, available: (name: string) => boolean, want: { nvidiaModeset?: boolean } = {}): string[] {
  return gpuModules(d.vendor, d.class, available, want);
}

export function gpuInfo(d: PciDevice, module: string | null): GpuInfo {
  return { slot: d.slot, vendor: d.vendor, device: d.device, vendorName: VENDORS[d.vendor] ?? 'unknown', class: d.class, driver: d.driver, module };
}
