import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigFileError, loadProjectConfig } from '../../../scripts/project/config.ts';
import { scratchDir } from '../scratch.ts';

/** The error a configuration that must not load is refused with. */
const refused = async (loaded: Promise<unknown>): Promise<ConfigFileError> => {
  const err = await loaded.then(
    () => assert.fail('the configuration was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigFileError);
  return err;
};

const load = async (json: unknown) => {
  const file = join(scratchDir('aios-project-'), 'aios.json');
  await writeFile(file, JSON.stringify(json));
  return { file, loaded: loadProjectConfig(file) };
};

test('aios.json: every service name aios-init would refuse is an error of the file and key, all at once', async () => {
  const { file, loaded } = await load({
    services: [
      { name: 'a b', command: '/bin/sh' },
      { name: 'web', command: 'sh' },
      { name: 'web', command: '/bin/true' },
      { name: '..', command: '/bin/true' },
      { command: '/bin/true' },
    ],
    images: [{ tarball: 'app.tar', service: '../escape' }],
  });
  const err = await refused(loaded);
  const got = err.errors.map((e) => `${e.file}: ${e.key}: ${e.message}`);
  assert.deepEqual(got, [
    `${file}: services[0].name: "a b" may hold only letters, digits, - and _`,
    `${file}: services[1].command: "sh" is not an absolute path`,
    `${file}: services[2].name: "web" names two services`,
    `${file}: services[3].name: ".." may hold only letters, digits, - and _`,
    `${file}: services[4].name: a service needs a name`,
    `${file}: images[0].service: "../escape" may hold only letters, digits, - and _`,
  ]);
});

test("aios.json: ioCost takes init.json's keys; a bad model, a refused or repeated disk are each one error of the file and key", async () => {
  const { file, loaded } = await load({
    ioCost: [{ disk: 'sda', model: 'rbps=16M' }, { disk: 'sda/../x' }, { disk: 'nvme0n1', qos: 'rpct=95 rlat=5000' }, { disk: 'nvme0n1' }],
  });
  const err = await refused(loaded);
  assert.deepEqual(
    err.errors.map((e) => `${e.key}: ${e.message.slice(0, 40)}`),
    [
      'ioCost[0].model: "rbps=16M" is not space-separated rbps=,',
      'ioCost[1].disk: "sda/../x" is not a disk name like sda o',
      'ioCost[3].disk: "nvme0n1" has two ioCost entries',
    ],
    file,
  );
  const ok = await load({ ioCost: [{ disk: 'nvme0n1', model: 'rbps=3000000000 rrandiops=400000', qos: 'rpct=95 rlat=5000' }] });
  assert.equal((await ok.loaded).ioCost[0]!.qos, 'rpct=95 rlat=5000');
});

test('aios.json: well-named services and an image service load', async () => {
  const { loaded } = await load({
    services: [
      { name: 'web-1', command: '/bin/sh' },
      { name: 'worker_2', command: '/usr/bin/env' },
    ],
    images: [{ tarball: 'app.tar', service: 'app' }],
  });
  const c = await loaded;
  assert.deepEqual(
    c.services.map((s) => s.name),
    ['web-1', 'worker_2'],
  );
});

test('aios.json: cgroup limits the kernel would refuse are errors, those it takes load', async () => {
  const bad = await load({
    runtime: { memoryMax: '1.5G', cpuset: '0..3' },
    services: [{ name: 'web', command: '/bin/sh', memoryMax: '16MB', cpuset: '0-3;5' }],
  });
  const err = await refused(bad.loaded);
  assert.deepEqual(
    err.errors.map((e) => e.key),
    ['runtime.memoryMax', 'runtime.cpuset', 'services[0].memoryMax', 'services[0].cpuset'],
  );
  assert.match(err.errors[0]!.message, /"1\.5G" is not "max" or a byte count/);
  const good = await load({
    runtime: { memoryMax: '2G', cpuset: '0-7:2/4' },
    services: [
      { name: 'a', command: '/bin/sh', memoryMax: 'max', cpuset: '0-3,6' },
      { name: 'b', command: '/bin/sh', memoryMax: '1073741824', cpuset: '' },
      { name: 'c', command: '/bin/sh', memoryMax: '512m', cpuset: '1' },
    ],
  });
  const c = await good.loaded;
  assert.deepEqual(
    c.services.map((s) => [s.memoryMax, s.cpuset]),
    [
      ['max', '0-3,6'],
      ['1073741824', ''],
      ['512m', '1'],
    ],
  );
});

test('aios.json: a kernel command line of more than one line is refused', async () => {
  const { loaded } = await load({ boot: { cmdline: 'quiet\ninit=/bin/sh' } });
  await assert.rejects(loaded, /boot\.cmdline: "quiet\ninit=\/bin\/sh" is not one line of kernel arguments/);
  assert.equal((await (await load({ boot: { cmdline: 'quiet loglevel=3 aios.readahead_kb=0' } })).loaded).boot.cmdline, 'quiet loglevel=3 aios.readahead_kb=0');
});

test('aios.json: a command line GRUB would change (quotes, backslashes) is refused; $ and ; are kept, quoted for GRUB', async () => {
  for (const cmdline of ['a="b c"', "x='y'", 'p=a\\b']) {
    const { loaded } = await load({ boot: { cmdline } });
    await assert.rejects(loaded, /boot\.cmdline: holds .* which GRUB passes to the kernel with a backslash added/, cmdline);
  }
  const ok = await (await load({ boot: { cmdline: 'quiet x=$y;z {a}' } })).loaded;
  assert.equal(ok.boot.cmdline, 'quiet x=$y;z {a}');
});

test('aios.json: an image path or an allowed path that is not plain and absolute is an error of its key, all at once', async () => {
  const { file, loaded } = await load({
    images: [
      { tarball: 'a.tar', path: '/../../x' },
      { tarball: 'b.tar', path: '/opt//app' },
      { tarball: 'c.tar', path: 'opt' },
      { tarball: 'd.tar', path: '/opt/app' },
    ],
    allow: { setuid: ['/usr/bin/ping', 'usr/bin/su'], devices: ['/dev/../x'] },
  });
  const err = (await loaded.catch((e: unknown) => e)) as ConfigFileError;
  assert.ok(err instanceof ConfigFileError);
  assert.deepEqual(
    err.errors.map((e) => [e.file, e.key]),
    [
      [file, 'images[0].path'],
      [file, 'images[1].path'],
      [file, 'images[2].path'],
      [file, 'allow.setuid[1]'],
      [file, 'allow.devices[0]'],
    ],
  );
  assert.match(err.message, /"\/\.\.\/\.\.\/x" must be a normalized path/);
});

test('aios.json: the CUDA backend without the driver user space is refused before any work, naming both keys', async () => {
  for (const gpu of [{ nvidiaUserspace: false }, { nvidia: 'none' }]) {
    const { file, loaded } = await load({ runtime: { backends: ['cpu', 'cuda'] }, gpu });
    const err = await refused(loaded);
    assert.match(err.message, new RegExp(`${file}: runtime\\.backends: cuda needs the NVIDIA driver's user space .*gpu\\.nvidiaUserspace`));
  }
  const bad = await load({ runtime: { cudaArchitectures: ['90', 'sm_90', '80;86'] } });
  const e = await refused(bad.loaded);
  assert.deepEqual(
    e.errors.map((x) => x.key),
    ['runtime.cudaArchitectures[1]', 'runtime.cudaArchitectures[2]'],
  );
  const { loaded } = await load({ runtime: { backends: ['cpu', 'cuda'], cudaArchitectures: ['90'] } });
  const c = await loaded;
  assert.deepEqual(c.runtime.cudaArchitectures, ['90']);
  assert.equal(c.gpu.nvidiaUserspace, true);
});
