// NVIDIA's open modules against aiOS's own kernel. QEMU has no NVIDIA device, so the proof that
// they link against this kernel is how a load fails: "No such device" (the driver's probe found
// no GPU), never "Unknown symbol", "Invalid module format" or a version mismatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { checkVariant, OUT } from './helpers.ts';

interface Built {
  kernel: { release: string };
  gpu: {
    nvidia: string;
    modules?: { driver: string; modules: { path: string; name: string; vermagic: string; depends: string[] }[]; firmware: { path: string }[] };
  };
}

const built = async () => JSON.parse(await readFile(join(OUT, 'build.json'), 'utf8')) as Built;

test("the NVIDIA modules in rootfs.img carry this kernel's release as vermagic, and their GSP firmware is beside them", async () => {
  const b = await built();
  assert.equal(b.gpu.nvidia, 'open');
  const rec = b.gpu.modules!;
  assert.deepEqual(rec.modules.map((m) => m.name).sort(), ['nvidia', 'nvidia_drm', 'nvidia_modeset', 'nvidia_uvm']);
  const scratch = await mkdtemp(join(tmpdir(), 'aios-gpu-'));
  try {
    // Read back from the image itself, not from the build's record.
    const part = join(scratch, 'part.img');
    execFileSync('dd', [`if=${join(OUT, 'rootfs.img')}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
    for (const m of rec.modules) {
      const ko = join(scratch, `${m.name}.ko`);
      execFileSync('/sbin/debugfs', ['-R', `dump ${m.path} ${ko}`, part], { stdio: 'ignore' });
      const vermagic = execFileSync('/sbin/modinfo', ['-F', 'vermagic', ko], { encoding: 'utf8' }).trim();
      assert.equal(vermagic.split(/\s+/)[0], b.kernel.release, `${m.path}: vermagic ${vermagic}`);
    }
    const fw = execFileSync('/sbin/debugfs', ['-R', `ls -l /lib/firmware/nvidia/${rec.driver}`, part], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    for (const f of rec.firmware) assert.ok(fw.includes(f.path.split('/').pop()!), `${f.path} in the image`);
    const dep = execFileSync('/sbin/debugfs', ['-R', `cat /lib/modules/${b.kernel.release}/modules.dep`, part], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    assert.match(dep, /^extra\/nvidia-uvm\.ko: extra\/nvidia\.ko\b/m, 'depmod ran over the image');
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

// modprobe only: a second load of the 60 MB module by insmod (its signature hashed again under
// TCG) could still run when the check powered the machine off (seen once, in a cold .ci/run).
test('loading nvidia.ko in QEMU (modprobe, its dependencies first) fails with "No such device": it links against this kernel', async () => {
  const b = await built();
  assert.ok(
    b.gpu.modules!.modules.some((m) => m.name === 'nvidia'),
    'the image has nvidia.ko',
  );
  await checkVariant(
    (j) => ({
      ...j,
      services: [
        ...(j.services as unknown[]),
        {
          name: 'nvidia-probe',
          user: 'root',
          command: '/bin/sh',
          // modprobe loads what modules.dep says nvidia needs first, as aios-init would.
          args: ['-c', 'modprobe nvidia; echo "nvidia-load-exit=$?"'],
          restart: 'never',
        },
      ],
    }),
    ({ r, serial }) => {
      const lines = serial.split('\n').filter((l) => /nvidia|NVRM/i.test(l));
      assert.match(serial, /modprobe: can't load module nvidia \(extra\/nvidia\.ko\): No such device/, lines.join('\n'));
      assert.match(serial, /nvidia-load-exit=1/, lines.join('\n'));
      assert.doesNotMatch(serial, /Unknown symbol|Invalid module format|disagrees about version|Exec format error/, lines.join('\n'));
      // modprobe left nvidia's own dependencies loaded. Those the standard VGA's bochs also needs
      // (drm, backlight, ...) are allowed; any other is the one failure, of the modules check.
      const failed = r.out.split('\n').filter((l) => /^direct\s.*\sFAIL\s/.test(l));
      assert.ok(failed.length <= 1, r.out);
      if (failed.length === 0) return;
      assert.match(failed[0]!, /no unneeded modules loaded\s+FAIL\s+\d+ loaded .*not allowed: /);
      const notAllowed = /not allowed: (.*)$/.exec(failed[0]!)![1]!.split(', ');
      // nvidia itself too when the check reads /proc/modules while its init still runs (state
      // "Loading", seen under TCG once), before the init fails with ENODEV and it is unloaded.
      const deps = new Set(['nvidia', 'drm', 'i2c_core', 'drm_panel_orientation_quirks', 'backlight']);
      assert.ok(
        notAllowed.every((m) => deps.has(m)),
        `only nvidia.ko and what it needs: ${notAllowed.join(', ')}`,
      );
    },
  );
});
