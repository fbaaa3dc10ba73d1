import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scratchDir } from '../scratch.ts';

test('a QMP line that is not JSON is an error, not an exception in a socket handler', async () => {
  const { createServer } = await import('node:net');
  const { join } = await import('node:path');
  const { qmpCommand } = await import('../../../qemu/qmp.ts');
  const sock = join(scratchDir('aios-qmp-'), 'q.sock');
  const server = createServer((c) => c.write('{"QMP": {}}\nnot json at all\n'));
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    await assert.rejects(qmpCommand(sock, 'system_powerdown'), /QMP system_powerdown: QEMU sent a line that is not JSON: "not json at all"/);
  } finally {
    server.close();
  }
});

test("after the command's answer, QEMU's events until it exits are passed on (the SHUTDOWN reason)", async () => {
  const { createServer } = await import('node:net');
  const { join } = await import('node:path');
  const { qmpCommand } = await import('../../../qemu/qmp.ts');
  const sock = join(scratchDir('aios-qmp-'), 'q.sock');
  // A fake QEMU: greeting, the two answers, then POWERDOWN and SHUTDOWN, then its exit.
  const server = createServer((c) => {
    c.write('{"QMP": {}}\n');
    let n = 0;
    c.on('data', () => {
      if (++n === 1) return void c.write('{"return": {}}\n');
      c.write('{"return": {}}\n{"timestamp": {}, "event": "POWERDOWN"}\n');
      setTimeout(() => c.end('{"timestamp": {}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}\n'), 20);
    });
  });
  await new Promise<void>((r) => server.listen(sock, r));
  try {
    const events: { event: string; data?: Record<string, unknown> }[] = [];
    await qmpCommand(sock, 'system_powerdown', 5000, (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(events, [{ event: 'POWERDOWN' }, { event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } }]);
  } finally {
    server.close();
  }
});
