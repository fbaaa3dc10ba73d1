import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { diesWithAios } from '../../../common/cleanup.ts';

/** R, S, Z, ... from /proc/PID/status; `gone` once the process has been reaped. */
function state(pid: number): string {
  try {
    return /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
  } catch {
    return 'gone';
  }
}

test('a command started by diesWithAios is killed when its parent is SIGKILLed, which no exit handler survives', async (t) => {
  // The parent: a Node process that starts `sleep 60` as aios starts QEMU, says its pid, and waits.
  const [cmd, argv] = diesWithAios('sleep', ['60']);
  const parent = spawn(
    process.execPath,
    [
      '-e',
      `const c = require('node:child_process').spawn(${JSON.stringify(cmd)}, ${JSON.stringify(argv)}, { stdio: 'ignore' }); console.log(c.pid); setInterval(() => {}, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const pid = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
  t.after(() => {
    if (!['gone', 'Z'].includes(state(pid))) process.kill(pid, 'SIGKILL');
  });
  for (let i = 0; i < 40 && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep'); i++) await sleep(25);
  assert.equal(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\x0060\x00', 'setpriv execs the command itself: same pid');
  parent.kill('SIGKILL');
  // Killed, it stays a zombie until this machine's init reaps it.
  for (let i = 0; i < 40 && !['gone', 'Z'].includes(state(pid)); i++) await sleep(50);
  assert.ok(['gone', 'Z'].includes(state(pid)), `sleep ${pid} still runs (state ${state(pid)}) after its parent was killed`);
});
