import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { apiFailures, describeFailures } from '../../../scripts/gpu/build-failure.ts';

const log = await readFile(new URL('./fixtures/nvidia-build.log', import.meta.url), 'utf8');
const TREE = '/tmp/work/modules/nvidia-open-kernel';

test('a failed NVIDIA build names each kernel interface it tripped on, once, with file and line', () => {
  const f = apiFailures(log, TREE);
  assert.deepEqual(
    f.map((x) => [x.api, x.where]),
    [
      ['pci_resize_resource()', 'nvidia/nv-pci.c:223'],
      ['__flush_tlb()', 'nvidia/nv-pat.c:66'],
      ['__flush_tlb()', 'nvidia/nv-pat.c:75'],
      ['struct drm_driver.dumb_destroy', 'nvidia-drm/nvidia-drm-drv.c:912'],
      ['pci_enable_msi', 'nvidia.ko'],
      ['__mmu_notifier_register', 'nvidia-uvm.ko'],
    ],
  );
  assert.match(f[4]!.message, /not exported by this kernel/);
});

test('notes and warnings are not failures; unknown errors keep their message', () => {
  assert.deepEqual(apiFailures('x.c:1:2: note: declared here\nx.c:3:4: warning: unused'), []);
  const [f] = apiFailures('/t/a.c:9:1: error: expected ; before }', '/t');
  assert.deepEqual(f, { api: 'expected ; before }', where: 'a.c:9', message: 'expected ; before }' });
});

test('the summary lists at most the limit and says how many more', () => {
  const text = describeFailures(apiFailures(log, TREE), 2);
  assert.equal(text.split('\n').length, 3);
  assert.match(text, /and 4 more/);
});
