import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { writeFile } from 'node:fs/promises';
import { buildReport, readyMoment, type ReportInputs } from '../../../init/src/status.ts';
import { now, onTimeOrigin, startupFigures } from '../../../init/src/clock.ts';
import { FsRoot } from '../../../init/src/fsroot.ts';
import { fixtureRoot } from './fixtures.ts';

test("now() is performance.now() less Node's start: the two scales differ by nodeStart only", () => {
  const before = performance.now();
  const reading = now();
  const after = performance.now();
  const onOrigin = onTimeOrigin(reading);
  assert.ok(onOrigin >= before - 0.5 && onOrigin <= after + 0.5, `${onOrigin} not within [${before}, ${after}]`);
});

test('startup figures: V8 start, then the bootstrap, then the code loaded', () => {
  const s = startupFigures(now());
  assert.ok(s.v8StartMs < s.nodeBootstrapMs && s.nodeBootstrapMs <= s.mainMs, JSON.stringify(s));
});

test('a report made later (the status endpoint) keeps the moment the machine was ready', async () => {
  const root = await fixtureRoot({ 'proc/uptime': '3.10 5.00\n', 'proc/cmdline': 'console=ttyS0\n' });
  const fs = new FsRoot(root);
  const inputs: ReportInputs = {
    ready: readyMoment(fs),
    steps: [],
    declaredMounts: [],
    strategy: { always: [], detected: [], never: [], refused: [], missing: [], builtin: [], planned: [] },
    gpus: [],
    services: [],
    statusPort: 0,
    addon: { loaded: true },
  };
  const first = buildReport(fs, inputs);
  await sleep(30);
  await writeFile(`${root}/proc/uptime`, '3.14 5.06\n');
  const later = buildReport(fs, inputs);
  assert.equal(later.execToReadyMs, first.execToReadyMs);
  assert.equal(first.execToReadyMs, Math.round(onTimeOrigin(inputs.ready.at)));
  assert.equal(later.uptimeAtReady, 3.1);
});
