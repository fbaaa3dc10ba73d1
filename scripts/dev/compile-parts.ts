// Where a cold build's compile time goes, from the log scripts/dev/compile-timer.sh writes as
// ccache's prefix command: one line per compile ccache missed, "start end directory output".
import { isAbsolute, join } from 'node:path';

export interface Compile {
  seconds: number;
  dir: string;
  output: string;
}

export interface Part {
  part: string;
  compiles: number;
  seconds: number;
}

/** One log line; undefined for a line that is not one (a torn write, a blank). */
export function parseCompileLine(line: string): Compile | undefined {
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\S+) (\S*)$/.exec(line.trim());
  if (!m) return undefined;
  const seconds = Number(m[2]) - Number(m[1]);
  return seconds >= 0 ? { seconds, dir: m[3]!, output: m[4]! } : undefined;
}

// The kernel's large families, by the object's path in its tree; the first that matches names it.
const KERNEL_FAMILIES: [RegExp, string][] = [
  // Kconfig's and kbuild's cc-option tests: a compile into .tmp_NNNN/ or to no file at all.
  [/^(\.tmp_\d+\/|$)/, "kernel: compiler probes (Kconfig's cc-option)"],
  [/^drivers\/gpu\/drm\/amd\//, 'kernel: amdgpu'],
  [/^drivers\/gpu\/drm\/nouveau\//, 'kernel: nouveau'],
  [/^drivers\/gpu\//, 'kernel: DRM core and small display drivers'],
  [/^fs\/xfs\//, 'kernel: XFS'],
  [/^(net|drivers\/net)\//, 'kernel: networking'],
  [/^drivers\//, 'kernel: other drivers'],
  [/^fs\//, 'kernel: other file systems'],
  [/^(arch|kernel|mm|init|ipc|block|lib|crypto|security|certs|virt|usr|io_uring)\//, 'kernel: core (arch, kernel, mm, lib, crypto, block, security)'],
];

/** The part of the build one compile belongs to, from its directory and output path alone. */
export function partOf(c: Pick<Compile, 'dir' | 'output'>): string {
  const path = isAbsolute(c.output) ? c.output : join(c.dir, c.output);
  const variant = /\/CMakeFiles\/ggml-cpu-([\w.]+)\.dir\//.exec(path);
  if (variant) return `llama.cpp: ggml CPU variant ${variant[1]}`;
  if (/\/CMakeFiles\//.test(path)) return 'llama.cpp: server, llama, common, ggml base';
  if (/\/build\/nvidia-[^/]+\//.test(path)) return 'NVIDIA open modules (and their conftest)';
  const kernel = /\/build\/linux-[^/]+(?:\/(.*))?$/.exec(path);
  if (kernel) return KERNEL_FAMILIES.find(([re]) => re.test(kernel[1] ?? ''))?.[1] ?? 'kernel: other';
  return 'other';
}

/** The parts, largest first, with the lines that were not compiles counted apart. */
export function compileParts(log: string): { parts: Part[]; totalSeconds: number; unreadLines: number } {
  const parts = new Map<string, Part>();
  let unreadLines = 0;
  let totalSeconds = 0;
  for (const line of log.split('\n')) {
    if (!line.trim()) continue;
    const c = parseCompileLine(line);
    if (!c) {
      unreadLines++;
      continue;
    }
    const name = partOf(c);
    const p = parts.get(name) ?? { part: name, compiles: 0, seconds: 0 };
    p.compiles++;
    p.seconds += c.seconds;
    parts.set(name, p);
    totalSeconds += c.seconds;
  }
  return { parts: [...parts.values()].sort((a, b) => b.seconds - a.seconds), totalSeconds, unreadLines };
}

/** The parts as a table: compile seconds (CPU-seconds at -jN on N cores), share, compiles. */
export function partsTable(r: ReturnType<typeof compileParts>): string {
  const rows = r.parts.map(
    (p) =>
      `${p.part.padEnd(62)} ${p.seconds.toFixed(0).padStart(7)} s ${((100 * p.seconds) / (r.totalSeconds || 1)).toFixed(1).padStart(5)} % ${String(p.compiles).padStart(6)}`,
  );
  return [`${'part'.padEnd(62)} compile time   share  files`, ...rows, `${'all compiles'.padEnd(62)} ${r.totalSeconds.toFixed(0).padStart(7)} s`].join('\n');
}
