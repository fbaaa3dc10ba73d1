import { existsSync, readFileSync } from 'node:fs';
import { formatErrors } from '../common/schema.ts';
import { gpuModules, isDisplayClass } from '../common/gpu-modules.ts';
import type { ProbePci } from '../common/probe.ts';
import { parseInitConfig, type InitConfig } from '../common/init-spec.ts';
import type { ImageFacts } from './image-facts.ts';
import { isNeverLoad, modName } from '../common/module-names.ts';

const INIT_JSON = '/etc/aios/init.json';

/** The image's init.json read on the host with init.json's own schema: defaults filled in, every error named. */
export function imageInitConfig(text: string | null): { config: InitConfig; errors: string[] } {
  const { config, errors } = parseInitConfig(text, INIT_JSON);
  return { config, errors: errors.map((e) => formatErrors([e])) };
}

/**
 * The modules this image may load on this machine, each with the reason: what init.json always
 * loads, what the display devices the guest has ask for, and what those need (modules.dep);
 * never-load modules are never allowed.
 */
export function allowedModules(config: InitConfig, facts: Pick<ImageFacts, 'moduleDeps'>, pci: readonly ProbePci[]): Map<string, string> {
  const allowed = new Map<string, string>();
  const add = (name: string, why: string) => {
    const n = modName(name);
    if (allowed.has(n) || isNeverLoad(n, config.modules.never)) return;
    allowed.set(n, why);
    // depmod writes every module's whole closure on its line: no need to follow it further.
    for (const d of facts.moduleDeps.get(n) ?? []) if (!allowed.has(d) && !isNeverLoad(d, config.modules.never)) allowed.set(d, `needed by ${n}`);
  };
  for (const m of config.modules.always) add(m, 'init.json modules.always');
  for (const m of config.modules.extra) add(m, 'init.json modules.extra');
  for (const d of pci)
    for (const m of gpuModules(d.vendor, d.class, (n) => facts.moduleDeps.has(n), { nvidiaModeset: config.modules.nvidiaModeset }))
      add(m, `for the display device ${d.vendor}:${d.device} at ${d.slot}`);
  return allowed;
}

/** A display device the host put on the guest's PCI bus. */
export interface AttachedDisplay {
  /** As QEMU was asked: `ati-vga`, `vfio-pci,host=0000:01:00.0`. */
  spec: string;
  vendor: string;
  device: string;
}

/** PCI IDs of QEMU's own display devices (hw/display). */
const QEMU_DISPLAYS: Record<string, [string, string]> = {
  VGA: ['0x1234', '0x1111'],
  'secondary-vga': ['0x1234', '0x1111'],
  'bochs-display': ['0x1234', '0x1111'],
  'ati-vga': ['0x1002', '0x5046'],
  'cirrus-vga': ['0x1013', '0x00b8'],
  'virtio-vga': ['0x1af4', '0x1050'],
  'virtio-gpu-pci': ['0x1af4', '0x1050'],
  'qxl-vga': ['0x1b36', '0x0100'],
  qxl: ['0x1b36', '0x0100'],
  'vmware-svga': ['0x15ad', '0x0405'],
};
const VGA_OPTION: Record<string, string> = { std: 'VGA', cirrus: 'cirrus-vga', qxl: 'qxl-vga', virtio: 'virtio-vga', vmware: 'vmware-svga' };
const ATI_MODELS: Record<string, string> = { rage128p: '0x5046', rv100: '0x5159' };

/**
 * The display devices in QEMU arguments: QEMU's own by their fixed IDs, and a passed-through
 * host device (vfio-pci) by what the host's sysfs says of it.
 */
export function attachedDisplays(args: readonly string[], hostSysfs = '/sys/bus/pci/devices'): AttachedDisplay[] {
  const out: AttachedDisplay[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split(/=(.*)/s) as [string, string | undefined];
    if (flag !== '-device' && flag !== '-vga') continue;
    const value = inline ?? args[++i] ?? '';
    if (flag === '-vga') {
      const dev = VGA_OPTION[value];
      if (dev) out.push({ spec: `-vga ${value}`, vendor: QEMU_DISPLAYS[dev]![0], device: QEMU_DISPLAYS[dev]![1] });
      continue;
    }
    const [driver, ...opts] = value.split(',');
    const opt = (k: string) => opts.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
    if (driver === 'vfio-pci') {
      const host = opt('host');
      if (!host) continue;
      // QEMU takes the host address with or without its PCI domain; sysfs names it with one.
      const dir = `${hostSysfs}/${/^[0-9a-f]{4}:[0-9a-f]{2}:/i.test(host) ? host : `0000:${host}`}`;
      const read = (f: string) => (existsSync(`${dir}/${f}`) ? readFileSync(`${dir}/${f}`, 'utf8').trim().toLowerCase() : '');
      if (isDisplayClass(read('class'))) out.push({ spec: value, vendor: read('vendor'), device: read('device') });
      continue;
    }
    const ids = QEMU_DISPLAYS[driver!];
    if (!ids) continue;
    const device = driver === 'ati-vga' ? (ATI_MODELS[opt('model') ?? 'rage128p'] ?? ids[1]) : ids[1];
    out.push({ spec: value, vendor: ids[0], device });
  }
  return out;
}
