import { accessSync, constants, existsSync } from 'node:fs';
import { CommandError, run } from '../../common/exec.ts';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';

export type HookName = 'postinst' | 'finalize';

/** The environment a hook sees (documented in docs/projects.md). */
export function hookEnv(o: { root?: string; out: string; project: string; epoch: number; hook: HookName }): Record<string, string> {
  return {
    AIOS_HOOK: o.hook,
    // Only postinst gets the staged root: after it, the tree is a cache entry that nothing may change.
    ...(o.root ? { AIOS_ROOT: o.root } : {}),
    AIOS_OUT: o.out,
    AIOS_PROJECT: o.project,
    SOURCE_DATE_EPOCH: String(o.epoch),
  };
}

/** A hook that cannot run is an error of aios.json, found before any work. */
export function checkHook(name: HookName, script: string, configFile: string): void {
  if (!script) return;
  if (!existsSync(script)) throw new Error(`${configFile}: hooks.${name}: ${script} does not exist`);
  try {
    accessSync(script, constants.X_OK);
  } catch {
    throw new Error(`${configFile}: hooks.${name}: ${script} is not executable; \`chmod +x ${script}\``);
  }
}

/** Run the hook in the project directory; its output goes to the build's log, a failure ends the build. */
export async function runHook(name: HookName, script: string, env: Record<string, string>, cwd: string, log: (m: string) => void): Promise<void> {
  if (!script) return;
  log(`hook ${name}: ${script}`);
  try {
    await run(script, [], { cwd, env: { ...process.env, ...env }, onLine: (l) => log(`[${name}] ${l}`) });
  } catch (err) {
    if (err instanceof CommandError) throw new Error(`hooks.${name} failed: ${err.message}`, { cause: err });
    throw err;
  }
}

/**
 * What postinst reads joins the root filesystem's key: the paths it declares, as the step's
 * declared files and trees (hashed by content like every other input). A hook that declares
 * nothing may read anything, so its step gets a key no later build shares.
 */
export async function hookInputs(
  hooks: { postinst: string; postinstInputs: readonly string[] },
  configFile: string,
  warn: (m: string) => void,
): Promise<{ files: Record<string, string>; trees: Record<string, string>; values: Record<string, unknown> }> {
  const declared = { files: {} as Record<string, string>, trees: {} as Record<string, string>, values: {} };
  if (!hooks.postinst) return declared;
  if (!hooks.postinstInputs.length) {
    warn(`${configFile}: hooks.postinst declares no inputs (hooks.postinstInputs): the root filesystem is built again on every build`);
    return { ...declared, values: { postinstRun: randomUUID() } };
  }
  for (const [i, p] of hooks.postinstInputs.entries()) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new Error(`${configFile}: hooks.postinstInputs[${i}]: ${p} does not exist`);
    (st.isDirectory() ? declared.trees : declared.files)[`postinstInputs[${i}]`] = p;
  }
  return declared;
}
