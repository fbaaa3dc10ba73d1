import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceInfo, ServiceInfo } from '../../../common/boot-report.ts';
import { nextState } from '../../../init/src/inference.ts';
import { PressureWatch, parseAvg10, triggerSpec } from '../../../init/src/pressure.ts';
import { vramInfo } from '../../../init/src/gpu-memory.ts';
import { spawnFailure } from '../../../init/src/children.ts';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { fakeSys, fixtureRoot, pciDevice } from './fixtures.ts';

const psi = (name: string) => readFileSync(join(import.meta.dirname, '../../fixtures/psi', name), 'utf8');

test('PSI: trigger lines and avg10 from real pressure files', () => {
  assert.equal(triggerSpec(100_000, 1_000_000), 'some 100000 1000000');
  assert.equal(parseAvg10(psi('memory-idle')), 0);
  assert.equal(parseAvg10(psi('memory-stalled')), 37.52);
  assert.equal(parseAvg10(psi('no-some-line')), null);
});

test('PSI: each group gets a trigger; an event is recorded with the group and its avg10', async () => {
  const root = await fixtureRoot({ 'proc/pressure/memory': psi('memory-stalled'), 'proc/uptime': '12.50 20.00\n' });
  const sys = fakeSys();
  const fired: (() => void)[] = [];
  sys.psiWatch = (path, trigger, cb) => {
    sys.calls.push(`psiWatch ${path} ${trigger}`);
    fired.push(cb);
  };
  const logs: string[] = [];
  const w = new PressureWatch(sys, new FsRoot(root), (m) => logs.push(m));
  w.register([{ group: 'system', file: '/proc/pressure/memory' }], 150_000, 1_000_000);
  assert.deepEqual(sys.calls, [`psiWatch ${root}/proc/pressure/memory some 150000 1000000`]);
  fired[0]!();
  assert.deepEqual(w.events(), [{ uptime: 12.5, group: 'system', avg10: 37.52 }]);
  assert.match(logs[0]!, /memory pressure: system stalled past its threshold \(avg10 37\.52%/);
  const failing = new PressureWatch(fakeSys({ psiWatch: 'EINVAL' }), new FsRoot(root), () => {});
  assert.throws(() => failing.register([{ group: 'system', file: '/proc/pressure/memory' }], 1, 500_000), /PSI triggers not registered: .*memory: EINVAL/);
});

const base: InferenceInfo = {
  service: 'inference',
  state: 'loading',
  model: '/m.gguf',
  modelName: 'm',
  modelSha256: 'x',
  loadMs: null,
  healthUrl: 'http://127.0.0.1:8081/health',
  restartsForHealth: 0,
};
const running: ServiceInfo = { name: 'inference', pid: 10, state: 'running', restarts: 0, cgroup: null };

test('inference watch: loading until /health answers 200, then ready with the load time', () => {
  let r = nextState(base, running, 503, 400, 0, 3);
  assert.equal(r.info.state, 'loading');
  assert.match(r.info.reason!, /HTTP 503/);
  r = nextState(r.info, running, 200, 1234.4, 0, 3);
  assert.equal(r.info.state, 'ready');
  assert.equal(r.info.loadMs, 1234);
  assert.equal(r.info.reason, undefined);
  assert.equal(nextState(r.info, running, 200, 9999, 0, 3).info.loadMs, 1234, 'the load time is the first one');
});

test('inference watch: failed health checks after ready restart the server; a missing binary is failed with its reason', () => {
  const ready = { ...base, state: 'ready' as const, loadMs: 10 };
  let r = nextState(ready, running, 0, 5000, 0, 3);
  assert.equal(r.failures, 1);
  assert.equal(r.restart, undefined);
  r = nextState(r.info, running, 500, 5000, r.failures, 3);
  r = nextState(r.info, running, 0, 5000, r.failures, 3);
  assert.match(r.restart!, /3 failed health checks/);
  assert.equal(r.info.state, 'failed');
  assert.equal(r.info.restartsForHealth, 1);
  const gone = nextState(
    base,
    { ...running, state: 'failed', pid: null, reason: spawnFailure('/usr/lib/llama/llama-server', Object.assign(new Error('ENOENT'), { code: 'ENOENT' })) },
    0,
    undefined,
    0,
    3,
  );
  assert.equal(gone.info.state, 'failed');
  assert.equal(gone.info.reason, '/usr/lib/llama/llama-server: not found (ENOENT)');
  assert.equal(nextState(base, undefined, 0, undefined, 0, 3).info.reason, 'no service named inference');
});

test('GPU memory: amdgpu exposes VRAM in sysfs; other drivers are said not to, never guessed', async () => {
  const root = await fixtureRoot({
    ...pciDevice('0000:00:02.0', '0x1002', '0x744c', '0x030000', 'amdgpu'),
    'sys/bus/pci/devices/0000:00:02.0/mem_info_vram_total': '25753026560\n',
    'sys/bus/pci/devices/0000:00:02.0/mem_info_vram_used': '1048576\n',
    ...pciDevice('0000:00:03.0', '0x10de', '0x2330', '0x030200', 'nvidia'),
    'proc/driver/nvidia/gpus/0000:00:03.0/information': 'Model: NVIDIA H100\n',
    ...pciDevice('0000:00:04.0', '0x1234', '0x1111', '0x030000'),
  });
  const fs = new FsRoot(root);
  assert.deepEqual(vramInfo(fs, '0000:00:02.0', 'amdgpu'), {
    totalBytes: 25753026560,
    usedBytes: 1048576,
    source: '/sys/bus/pci/devices/0000:00:02.0/mem_info_vram_*',
  });
  assert.match(vramInfo(fs, '0000:00:03.0', 'nvidia').note!, /not exposed by this driver \(NVIDIA reports memory through NVML only\)/);
  assert.equal(vramInfo(fs, '0000:00:04.0', null).note, 'no driver bound');
  assert.equal(vramInfo(fs, '0000:00:04.0', 'bochs-drm').note, 'not exposed by this driver (bochs-drm)');
});
