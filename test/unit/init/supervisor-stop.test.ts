// Supervisor.stopAll on real processes: what each kind of service is sent at shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ownService } from '../../../init/src/config.ts';
import { realSupervisor } from './real-addon.ts';

const ignoresTerm = 'trap "" TERM; trap "exit 0" HUP; echo ready; while :; do sleep 0.05; done';

async function stopOne(tty: string | undefined): Promise<{ ms: number; logged: string[] }> {
  const { sup, logged, stop } = realSupervisor();
  sup.start(ownService({ name: 'shell', command: '/bin/sh', args: ['-c', ignoresTerm], restart: 'never', ...(tty ? { tty } : {}) }));
  const pid = sup.info()[0]!.pid!;
  try {
    // Both traps must be set before the signals come.
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await sup.stopAll(1500);
    return { ms: performance.now() - t0, logged };
  } finally {
    // A shell that ignores SIGTERM would outlive a failed test (it did, while this was written).
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    stop();
  }
}

test('a service on a terminal (an interactive shell ignores SIGTERM) is hung up at shutdown, not left to the timeout', async () => {
  const { ms, logged } = await stopOne('/dev/null');
  assert.ok(ms < 1000, `stopped in ${ms.toFixed(0)} ms`);
  assert.deepEqual(
    logged.filter((m) => /ignored SIGTERM/.test(m)),
    [],
  );
});

test('a service without a terminal gets no SIGHUP (a daemon may take it as "reload"): one that ignores SIGTERM waits out the timeout', async () => {
  const { ms, logged } = await stopOne(undefined);
  assert.ok(ms >= 1500, `stopped in ${ms.toFixed(0)} ms`);
  assert.ok(
    logged.some((m) => /service shell ignored SIGTERM for 1\.5 s: killing its cgroup/.test(m)),
    logged.join('\n'),
  );
});
