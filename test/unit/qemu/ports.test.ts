// Host ports for QEMU's forwards: distinct, free, and never one the user gave (--gdb's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePorts } from '../../../qemu/runner.ts';

test('free ports: distinct, each can be listened on, none of those to avoid', async () => {
  // bind(0) hands out the lower half of the ephemeral range (the upper half is left to connect()):
  // avoid the first half of that, where about half of the picks land.
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number) as [number, number];
  const avoid = Array.from({ length: Math.floor((high - low) / 4) }, (_, i) => low + i);
  const ports = await freePorts(10, avoid);
  assert.equal(new Set(ports).size, 10);
  assert.deepEqual(
    ports.filter((p) => avoid.includes(p)),
    [],
  );
  for (const port of ports)
    await new Promise<void>((resolve, reject) => {
      const srv = createServer().once('error', reject);
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve()));
    });
});
