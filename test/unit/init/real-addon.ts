// The system-call addon itself, compiled as the build compiles it, for tests of what needs no root.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADDON_SOURCES, addonCompileArgs } from '../../../scripts/sea/sea.ts';
import { NODE_INCLUDE_DIRS } from '../../../scripts/host/tools.ts';
import type { Sys } from '../../../init/src/sys.ts';
import { Children } from '../../../init/src/children.ts';
import { Supervisor } from '../../../init/src/services.ts';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { scratchDir } from '../scratch.ts';

let loaded: Sys | undefined;

let compiled: string | undefined;

/** The addon compiled into a scratch directory (once): its path, for a process of its own to load. */
export function realAddonPath(): string {
  if (compiled) return compiled;
  const include = NODE_INCLUDE_DIRS.find((d) => existsSync(join(d, 'node_api.h')));
  assert.ok(include, `node_api.h in one of ${NODE_INCLUDE_DIRS.join(', ')}`);
  const out = join(scratchDir('aios-addon-'), 'aios_sys.node');
  const sources = ADDON_SOURCES.map((f) => join(import.meta.dirname, '../../../init/addon', f));
  // The compiler is the only process this starts through Node; it has ended before any test reaps.
  execFileSync('gcc', addonCompileArgs(sources, out, include));
  return (compiled = out);
}

export function realAddon(): Sys {
  if (loaded) return loaded;
  const mod = { exports: {} as Sys };
  process.dlopen(mod, realAddonPath());
  return (loaded = mod.exports);
}

/** Children on the real addon, reaping on SIGCHLD until `stop` is called. */
export function realChildren(warn: (m: string) => void = () => {}): { children: Children; stop: () => void } {
  const children = new Children(realAddon(), warn);
  return { children, stop: children.listen(1000) };
}

/** A Supervisor on real children in a scratch root: what it logs, what reaches the console, and `stop` for the reaper. */
export function realSupervisor(root = scratchDir('aios-root-')): { sup: Supervisor; logged: string[]; shown: string[]; stop: () => void } {
  const logged: string[] = [];
  const shown: string[] = [];
  const { children, stop } = realChildren();
  const sup = new Supervisor(
    new FsRoot(root),
    children,
    (m) => logged.push(m),
    (l) => shown.push(l),
  );
  return { sup, logged, shown, stop };
}
