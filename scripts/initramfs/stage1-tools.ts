import { LOADER, neededLibs } from '../lib/elf.ts';
import { run } from '../../common/exec.ts';

/** A host file that stage 1 carries, at its path inside the initramfs. */
export interface Stage1File {
  path: string;
  from: string;
}

/** What stage 1 runs besides busybox: veritysetup (Debian's cryptsetup-bin) opens the verity root. */
export const STAGE1_TOOLS = ['veritysetup'] as const;

/** Directories the tools and their libraries land in (Debian's multiarch layout). */
export const STAGE1_TOOL_DIRS = ['lib64', 'lib/x86_64-linux-gnu'];

/** Where each tool and each library it needs go: the paths the dynamic loader looks them up by. */
export function stage1Layout(tools: readonly { name: string; from: string }[], libs: readonly { name: string; path: string }[]): Stage1File[] {
  const out = new Map<string, string>();
  for (const t of tools) out.set(`sbin/${t.name}`, t.from);
  for (const l of libs) {
    const at = l.path === LOADER ? LOADER : `/lib/x86_64-linux-gnu/${l.name}`;
    out.set(at.slice(1), l.path);
  }
  return [...out].map(([path, from]) => ({ path, from })).sort((a, b) => a.path.localeCompare(b.path));
}

/** The host's tools for stage 1 and their shared libraries, found as the dynamic loader finds them. */
export async function stage1Tools(): Promise<Stage1File[]> {
  const tools: { name: string; from: string }[] = [];
  const libs: { name: string; path: string }[] = [];
  for (const name of STAGE1_TOOLS) {
    const found = await run('sh', ['-c', `command -v ${name} || PATH=/usr/sbin:/sbin:$PATH command -v ${name}`], { okCodes: [1, 127] });
    const from = found.stdout.trim().split('\n').pop() ?? '';
    if (!from.startsWith('/')) throw new Error(`${name} is not installed: install Debian's cryptsetup-bin (\`aios doctor\` lists what is missing)`);
    tools.push({ name, from });
    libs.push(...(await neededLibs(from)));
  }
  return stage1Layout(tools, libs);
}
