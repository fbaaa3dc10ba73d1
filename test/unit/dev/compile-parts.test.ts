import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileParts, parseCompileLine, partOf, partsTable } from '../../../scripts/dev/compile-parts.ts';

const K = '/c/build/linux-6.12.118-c93391b6a488';
const L = '/c/build/llama.cpp-L4FviDpgw7qfTiDw-cpu';

test('each compile goes to its part: kernel families by path, ggml variants by name, NVIDIA by its tree', () => {
  assert.equal(partOf({ dir: K, output: 'drivers/gpu/drm/amd/amdgpu/amdgpu_drv.o' }), 'kernel: amdgpu');
  assert.equal(partOf({ dir: K, output: 'drivers/gpu/drm/nouveau/nvkm/core/client.o' }), 'kernel: nouveau');
  assert.equal(partOf({ dir: K, output: 'drivers/gpu/drm/tiny/bochs.o' }), 'kernel: DRM core and small display drivers');
  assert.equal(partOf({ dir: K, output: 'net/ipv4/tcp.o' }), 'kernel: networking');
  assert.equal(partOf({ dir: K, output: 'drivers/net/virtio_net.o' }), 'kernel: networking');
  assert.equal(partOf({ dir: K, output: 'fs/xfs/xfs_inode.o' }), 'kernel: XFS');
  assert.equal(partOf({ dir: K, output: 'fs/ext4/inode.o' }), 'kernel: other file systems');
  assert.match(partOf({ dir: K, output: 'mm/slub.o' }), /^kernel: core/);
  assert.equal(partOf({ dir: K, output: 'sound/core/sound.o' }), 'kernel: other');
  assert.equal(partOf({ dir: K, output: '.tmp_5659/tmp' }), "kernel: compiler probes (Kconfig's cc-option)");
  assert.equal(partOf({ dir: K, output: '' }), "kernel: compiler probes (Kconfig's cc-option)");
  assert.equal(partOf({ dir: L, output: 'ggml/src/CMakeFiles/ggml-cpu-sapphirerapids.dir/ggml-cpu/ops.cpp.o' }), 'llama.cpp: ggml CPU variant sapphirerapids');
  assert.equal(partOf({ dir: L, output: 'tools/server/CMakeFiles/server-context.dir/server-context.cpp.o' }), 'llama.cpp: server, llama, common, ggml base');
  // NVIDIA's kbuild runs in the kernel's tree (make -C) with absolute outputs; its conftest in its own.
  assert.equal(partOf({ dir: K, output: '/c/build/nvidia-0123456789ab/src/kernel-open/nvidia/nv.o' }), 'NVIDIA open modules (and their conftest)');
  assert.equal(partOf({ dir: '/c/build/nvidia-0123456789ab/src/kernel-open/conftest', output: 'conftest1.o' }), 'NVIDIA open modules (and their conftest)');
  assert.equal(partOf({ dir: '/tmp/x', output: 'a.o' }), 'other');
});

test('a log sums to parts, largest first; torn or foreign lines are counted, not guessed', () => {
  const log = [
    `10.0 12.5 ${K} drivers/gpu/drm/amd/amdgpu/a.o`,
    `11.0 12.0 ${K} drivers/gpu/drm/amd/amdgpu/b.o`,
    `12.0 12.5 ${K} kernel/fork.o`,
    `13.0 16.0 ${L} ggml/src/CMakeFiles/ggml-cpu-x64.dir/ggml-cpu/ops.cpp.o`,
    `13.0 ${K}`,
    'garbage',
    '',
  ].join('\n');
  const r = compileParts(log);
  assert.deepEqual(
    r.parts.map((p) => [p.part, p.compiles, p.seconds]),
    [
      ['kernel: amdgpu', 2, 3.5],
      ['llama.cpp: ggml CPU variant x64', 1, 3],
      ['kernel: core (arch, kernel, mm, lib, crypto, block, security)', 1, 0.5],
    ],
  );
  assert.equal(r.totalSeconds, 7);
  assert.equal(r.unreadLines, 2);
  assert.equal(parseCompileLine('5 4 /d x.o'), undefined, 'an end before its start');
  assert.match(partsTable(r), /kernel: amdgpu +4 s +50\.0 % +2\n/);
});
