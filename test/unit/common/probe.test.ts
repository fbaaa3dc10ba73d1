import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProbe, PROBE_FILES } from '../../../common/probe.ts';
import { PROBE_LOG, PROBE_NONCE } from '../qemu/fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

test("a real probe's lines parse into the machine's facts", () => {
  const r = parseProbe(PROBE_LOG, PROBE_NONCE);
  assert.ok(r.ok, !r.ok ? r.error : '');
  const e = r.evidence;
  assert.deepEqual(e.pid1, { comm: 'aios-init', exe: '/usr/sbin/aios-init' });
  assert.ok(e.mounts.some((m) => m.target === '/' && m.fstype === 'ext4'));
  assert.deepEqual(e.interfaces.eth0, { up: true, addresses: ['10.0.2.15/24', 'fec0::5054:ff:fe12:3456/64', 'fe80::5054:ff:fe12:3456/64'] });
  assert.equal(e.interfaces.sit0?.up, false);
  assert.equal(e.leases.eth0?.ip, '10.0.2.15');
  assert.equal(e.leases.eth0?.server, '10.0.2.2');
  assert.deepEqual(
    e.pci.find((d) => d.slot === '0000:00:01.1'),
    {
      slot: '0000:00:01.1',
      vendor: '0x8086',
      device: '0x7010',
      class: '0x010180',
      driver: 'ata_piix',
      modalias: 'pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80',
    },
  );
  assert.deepEqual(Object.keys(e.files), [...PROBE_FILES]);
  assert.deepEqual(e.zombies, [[], []]);
});

test('a lost, garbled or foreign line makes the probe incomplete, never silently partial', () => {
  const lines = [...PROBE_LOG];
  assert.match((parseProbe(lines, 'othernonce') as { error: string }).error, /no probe output/);
  const lost = lines.filter((_, i) => i !== 5);
  assert.match((parseProbe(lost, PROBE_NONCE) as { error: string }).error, /line\(s\) 6 of \d+ lost or garbled/);
  assert.match((parseProbe(lines.slice(0, -1), PROBE_NONCE) as { error: string }).error, /no end line/);
  // A kernel message run into the start of a line does not hide it.
  const noisy = lines.map((l, i) => (i === 3 ? `[   9.1] random: crng init done${l}` : l));
  assert.ok(parseProbe(noisy, PROBE_NONCE).ok);
  // Zombies with spaces in their names.
  const withZombie = [
    ...lines.slice(0, -1),
    `AIOS-PROBE ${PROBE_NONCE} ${lines.length} zombie-1 41 40 my worker`,
    `AIOS-PROBE ${PROBE_NONCE} ${lines.length + 1} zombie-3 41 40 my worker`,
    `AIOS-PROBE ${PROBE_NONCE} ${lines.length + 2} end ${lines.length + 2}`,
  ];
  const z = parseProbe(withZombie, PROBE_NONCE);
  assert.ok(z.ok);
  assert.deepEqual(z.evidence.zombies[0], [{ pid: 41, ppid: 40, comm: 'my worker' }]);
  assert.deepEqual(z.evidence.zombiesLater, [{ pid: 41, ppid: 40, comm: 'my worker' }]);
  assert.equal((parseProbe(lines, PROBE_NONCE) as { evidence: { zombiesLater?: unknown } }).evidence.zombiesLater, undefined, 'no third reading unless taken');
});

test('the probe script checks exactly the files the judge requires', () => {
  const script = readFileSync(join(ROOT, 'rootfs/usr/libexec/aios/probe'), 'utf8');
  const listed = /^files="([^"]*)"/m.exec(script)![1]!.split(' ');
  assert.deepEqual(listed, [...PROBE_FILES]);
});

test("the backend lines: each module the guest's /usr/lib/llama holds, with what its loader did not find", () => {
  const n = PROBE_LOG.length;
  const body = PROBE_LOG.slice(0, -1);
  const extra = [
    'backend libggml-cpu-x64.so',
    'backend libggml-cuda.so',
    'backend-missing libggml-cuda.so libcublasLt.so.11',
    'backend-missing libggml-cuda.so libcuda.so.1',
  ];
  const lines = [
    ...body,
    ...extra.map((x, i) => `AIOS-PROBE ${PROBE_NONCE} ${n + i} ${x}`),
    `AIOS-PROBE ${PROBE_NONCE} ${n + extra.length} end ${n + extra.length}`,
  ];
  const r = parseProbe(lines, PROBE_NONCE);
  assert.ok(r.ok, !r.ok ? r.error : '');
  assert.deepEqual(r.evidence.backends['libggml-cpu-x64.so'], []);
  assert.deepEqual(r.evidence.backends['libggml-cuda.so'], ['libcublasLt.so.11', 'libcuda.so.1']);
});
