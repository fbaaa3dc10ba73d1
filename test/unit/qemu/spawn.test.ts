import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QEMU, qemuSpawn } from '../../../qemu/runner.ts';

test('QEMU starts under setpriv --pdeathsig SIGKILL, its own arguments untouched', () => {
  assert.deepEqual(qemuSpawn(['-m', '1024', '-append', 'console=ttyS0 quiet']), [
    'setpriv',
    ['--pdeathsig', 'SIGKILL', '--', QEMU, '-m', '1024', '-append', 'console=ttyS0 quiet'],
  ]);
});
