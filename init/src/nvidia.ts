import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FsRoot } from './fsroot.ts';

/** The fixed major of nvidiactl, nvidia<N> and nvidia-modeset, as nvidia-modprobe has it. */
export const NVIDIA_MAJOR = 195;

export interface CharNode {
  path: string;
  major: number;
  minor: number;
  mode: number;
}

/** Character-device majors by name, from /proc/devices. */
export function charMajors(procDevices: string): Map<string, number> {
  const out = new Map<string, number>();
  const text = procDevices.split(/^Block devices:/m)[0] ?? '';
  for (const m of text.matchAll(/^\s*(\d+)\s+(\S+)\s*$/gm)) out.set(m[2]!, Number(m[1]));
  return out;
}

/** The minors the driver gave its GPUs: "Device Minor:" of /proc/driver/nvidia/gpus/<slot>/information. */
export function gpuMinors(fs: FsRoot): number[] {
  const dir = fs.p('/proc/driver/nvidia/gpus');
  let slots: string[];
  try {
    slots = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const minors: number[] = [];
  for (const slot of slots) {
    try {
      const m = /^Device Minor:\s*(\d+)/m.exec(readFileSync(join(dir, slot, 'information'), 'utf8'));
      if (m) minors.push(Number(m[1]));
    } catch {
      /* a GPU the driver did not take has no information file */
    }
  }
  return minors;
}

/**
 * The nodes nvidia-modprobe would make (the driver creates none, and devtmpfs knows nothing of
 * them): nvidiactl, one nvidia<N> per GPU, nvidia-modeset when loaded, and nvidia-uvm and
 * nvidia-uvm-tools on the major nvidia-uvm registered.
 */
export function nvidiaNodes(majors: Map<string, number>, minors: readonly number[], loaded: readonly string[]): CharNode[] {
  const nodes: CharNode[] = [];
  if (!loaded.includes('nvidia')) return nodes;
  const nv = majors.get('nvidia-frontend') ?? majors.get('nvidia') ?? NVIDIA_MAJOR;
  nodes.push({ path: '/dev/nvidiactl', major: nv, minor: 255, mode: 0o666 });
  for (const n of [...minors].sort((a, b) => a - b)) nodes.push({ path: `/dev/nvidia${n}`, major: nv, minor: n, mode: 0o666 });
  if (loaded.includes('nvidia_modeset')) nodes.push({ path: '/dev/nvidia-modeset', major: nv, minor: 254, mode: 0o666 });
  const uvm = majors.get('nvidia-uvm');
  if (uvm !== undefined && loaded.includes('nvidia_uvm')) {
    nodes.push({ path: '/dev/nvidia-uvm', major: uvm, minor: 0, mode: 0o666 });
    nodes.push({ path: '/dev/nvidia-uvm-tools', major: uvm, minor: 1, mode: 0o666 });
  }
  return nodes;
}
