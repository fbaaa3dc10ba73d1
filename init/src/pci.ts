import { readdirSync, readFileSync } from 'node:fs';
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

/**
 * Every PCI device from its sysfs `uevent`: one read per device gives the IDs, the class and the
 * bound driver (four reads each cost PID 1 about 80 ms at start under TCG).
 */
export function scanPci(fs: FsRoot): PciDevice[] {
  const dir = fs.p('/sys/bus/pci/devices');
  let slots: string[];
  try {
    slots = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return slots.flatMap((slot) => {
    try {
      return [parsePciUevent(slot, readFileSync(`${dir}/${slot}/uevent`, 'utf8'))];
    } catch {
      return [];
    }
  });
}

/** PCI_ID=10DE:2204, PCI_CLASS=30000, DRIVER=nvidia -> the sysfs spellings 0x10de, 0x2204, 0x030000. */
export function parsePciUevent(slot: string, text: string): PciDevice {
  const kv = new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const [vendor = '', device = ''] = (kv.get('PCI_ID') ?? '').toLowerCase().split(':');
  const cls = (kv.get('PCI_CLASS') ?? '').toLowerCase();
  return {
    slot,
    vendor: vendor && `0x${vendor}`,
    device: device && `0x${device}`,
    class: cls && `0x${cls.padStart(6, '0')}`,
    driver: kv.get('DRIVER') || null,
  };
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
