import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { addonCompileArgs } from '../../../scripts/init/sea.ts';
import { NODE_INCLUDE_DIRS } from '../../../scripts/doctor/tools.ts';
import type { Sys } from '../../../init/src/sys.ts';
import { scratchDir } from '../scratch.ts';

/** The system-call addon itself, compiled as the build compiles it, for what needs no root. */
async function loadRealAddon(): Promise<{ sys: Sys; cleanup: () => Promise<void> }> {
  const include = NODE_INCLUDE_DIRS.find((d) => existsSync(join(d, 'node_api.h')));
  assert.ok(include, `node_api.h in one of ${NODE_INCLUDE_DIRS.join(', ')}`);
  const dir = scratchDir('aios-addon-');
  const out = join(dir, 'aios_sys.node');
  execFileSync('gcc', addonCompileArgs(join(import.meta.dirname, '../../../init/addon/aios_sys.c'), out, include));
  const mod = { exports: {} as Sys };
  process.dlopen(mod, out);
  return { sys: mod.exports, cleanup: () => rm(dir, { recursive: true }) };
}

test('addon nextExited: an exited child is seen and left waitable, for Node to reap; then none is', async () => {
  const { sys, cleanup } = await loadRealAddon();
  assert.equal(sys.nextExited(), null, 'no child yet');
  const child = spawn('true');
  const exited = once(child, 'exit');
  // Hold the event loop so that Node cannot reap it yet.
  const deadline = Date.now() + 5000;
  let seen: number | null = null;
  while (seen === null && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    seen = sys.nextExited();
  }
  assert.equal(seen, child.pid);
  assert.equal(sys.nextExited(), child.pid, 'still there: WNOWAIT reaps nothing');
  const [code] = await exited;
  assert.equal(code, 0, 'Node got its exit status');
  assert.equal(sys.nextExited(), null);
  await cleanup();
});
