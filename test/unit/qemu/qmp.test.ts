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
