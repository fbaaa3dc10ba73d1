// An update and its rollback, end to end (docs/fleet.md): three builds of one project (v1, v2, and
// v3 whose aios-init exits), one disk booted again and again under Secure Boot's firmware, each
// reboot a new QEMU process on the same disk and firmware variables (QEMU runs with -no-reboot).
// v1 boots from slot A and pulls v2 from `aios serve`'s update files; v2 boots on trial and is
// marked good; v3 is pulled, tried `tries` times (the kernel panics, panic=10 reboots) and given
// up by systemd-boot, and v2 boots again and says why. The file v1's service wrote on the state
// partition is there at every step. Last, QEMU is killed while the other slot is being written:
// the next boot is the old slot's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aios, qemuProcesses } from './helpers.ts';
import { qemuArgs, OVMF_VARS_SNAKEOIL } from '../../qemu/cmdline.ts';
import { freePort, qemuSpawn } from '../../qemu/runner.ts';
import { startNetServer, type NetServer } from '../../qemu/net-server.ts';
import { parseReportLine, type BootReport } from '../../common/boot-report.ts';
import { copySparse } from '../../common/copy-sparse.ts';

const TRIES = 2;

/** A project whose builds differ by /etc/fleet-tag; v3's aios-init is a script that exits. */
async function buildVersion(dir: string, tag: string, port: number): Promise<string> {
  const project = join(dir, tag);
  await mkdir(join(project, 'overlay/etc'), { recursive: true });
  await writeFile(join(project, 'overlay/etc/fleet-tag'), `${tag}\n`);
  if (tag === 'v3') {
    await mkdir(join(project, 'overlay/usr/sbin'), { recursive: true });
    await writeFile(join(project, 'overlay/usr/sbin/aios-init'), '#!/bin/sh\necho "FLEET-TEST: this aios-init exits"\nexit 1\n', { mode: 0o755 });
  }
  const marker = 'f=/var/lib/marker/first; [ -f $f ] || cat /etc/fleet-tag > $f; sync; echo "MARKER first=$(cat $f) now=$(cat /etc/fleet-tag)"';
  await writeFile(
    join(project, 'aios.json'),
    JSON.stringify({
      formats: ['disk'],
      overlay: ['overlay'],
      update: { url: `http://10.0.2.2:${port}`, intervalSeconds: 5, tries: TRIES, trialSeconds: 240 },
      services: [{ name: 'marker', command: '/bin/sh', args: ['-c', marker], restart: 'never' }],
    }),
  );
  const out = join(project, 'out');
  const r = await aios(['build', '--project', project, '--out', out]);
  assert.equal(r.code, 0, `build ${tag}:\n${r.out.slice(-4000)}`);
  return out;
}

interface Boot {
  lines: string[];
  report?: BootReport;
  exit: Promise<number | null>;
  kill: () => void;
  /** Resolves with the first line that matches, or rejects when QEMU exits first. */
  wait: (re: RegExp, timeoutSec?: number) => Promise<string>;
}

/** One power-on of the disk: QEMU until the guest reboots, powers off, or is killed. */
function powerOn(disk: string, vars: string, log: string, n: number): Boot {
  const args = qemuArgs({
    path: 'disk-secureboot',
    kernel: '',
    initrd: '',
    iso: '',
    disk,
    ovmfVars: vars,
    cmdline: '',
    memoryMB: 1024,
    cpus: 2,
    accel: 'tcg',
    hostPort: 0,
    guestPort: 0,
    interactive: false,
    extra: [],
  });
  const child = spawn(...qemuSpawn(args), { stdio: ['ignore', 'pipe', 'pipe'] });
  const b: Boot = {
    lines: [],
    exit: new Promise((r) => child.once('exit', (code) => r(code))),
    kill: () => child.kill('SIGKILL'),
    wait: (re, timeoutSec = 300) =>
      new Promise((resolve, reject) => {
        const seen = b.lines.find((l) => re.test(l));
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`boot ${n}: no line matching ${re} in ${timeoutSec} s\n${tail(b)}`)), timeoutSec * 1000);
        const onLine = (l: string) => {
          if (!re.test(l)) return;
          clearTimeout(timer);
          rl.off('line', onLine);
          resolve(l);
        };
        rl.on('line', onLine);
        void b.exit.then(() => {
          clearTimeout(timer);
          reject(new Error(`boot ${n}: QEMU ended before a line matching ${re}\n${tail(b)}`));
        });
      }),
  };
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (raw) => {
    const l = raw.replace(/\r$/, '');
    b.lines.push(l);
    void appendFile(log, `[boot ${n}] ${l}\n`);
    const parsed = parseReportLine(l);
    if (parsed?.ok) b.report ??= parsed.report;
  });
  return b;
}

const tail = (b: Boot) => b.lines.slice(-60).join('\n');

test(`an update and its rollback: v1 pulls v2, v2 is marked good, a broken v3 is tried ${TRIES} times and given up for v2; the state survives; a power cut while writing boots the old slot`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'aios-update-'));
  const port = await freePort();
  let server: NetServer | undefined;
  const serve = async (out: string) => {
    await server?.close();
    server = await startNetServer({ out, bind: '127.0.0.1', port, cmdline: () => '' });
    assert.ok(server.update, `${out} is served as an update`);
  };
  const log = join(dir, 'serial.log');
  try {
    const v1 = await buildVersion(dir, 'v1', port);
    const v2 = await buildVersion(dir, 'v2', port);
    const v3 = await buildVersion(dir, 'v3', port);
    const build = async (out: string) => (JSON.parse(await readFile(join(out, 'update.json'), 'utf8')) as { build: string }).build;
    const [b1, b2, b3] = [await build(v1), await build(v2), await build(v3)];
    const disk = join(dir, 'disk.img');
    await copySparse(join(v1, 'rootfs.img'), disk);
    const vars = join(dir, 'vars.fd');
    await copyFile(OVMF_VARS_SNAKEOIL, vars);
    let n = 0;
    const next = () => powerOn(disk, vars, log, ++n);

    // v1 from slot A; the server hands out v2, which v1 writes into slot B and reboots into.
    await serve(v2);
    let boot = next();
    await boot.wait(/AIOS-BOOT-REPORT /);
    assert.deepEqual([boot.report?.slots?.slot, boot.report?.slots?.build, boot.report?.slots?.trial], ['a', b1, false], tail(boot));
    await boot.wait(/MARKER first=v1 now=v1/);
    await boot.wait(new RegExp(`update: build ${b2} written into slot b`), 600);
    await boot.exit;

    // v2 from slot B, on trial, then marked good; the server now hands out v3.
    boot = next();
    await boot.wait(/AIOS-BOOT-REPORT /);
    const r2 = boot.report?.slots;
    assert.deepEqual([r2?.slot, r2?.build, r2?.trial, r2?.tries], ['b', b2, true, { left: TRIES - 1, done: 1 }], tail(boot));
    await boot.wait(/MARKER first=v1 now=v2/);
    await boot.wait(new RegExp(`slot b: build ${b2} marked good`));
    await serve(v3);
    await boot.wait(new RegExp(`update: build ${b3} written into slot a`), 600);
    await boot.exit;

    // v3 from slot A: its aios-init exits, the kernel panics and reboots, TRIES times.
    for (let i = 0; i < TRIES; i++) {
      boot = next();
      await boot.wait(/FLEET-TEST: this aios-init exits/);
      await boot.wait(/Kernel panic - not syncing/);
      await boot.exit;
      assert.equal(boot.report, undefined, 'v3 never reports');
    }

    // systemd-boot gave v3 up: v2 again, good, and its report says why slot A was abandoned.
    boot = next();
    await boot.wait(/AIOS-BOOT-REPORT /);
    const back = boot.report?.slots;
    assert.deepEqual([back?.slot, back?.build, back?.trial, back?.other.state, back?.other.build], ['b', b2, false, 'abandoned', b3], tail(boot));
    assert.match(back!.other.why!, new RegExp(`slot a \\(build ${b3}\\) was tried ${TRIES} times and never marked good`));
    await boot.wait(/MARKER first=v1 now=v2/);
    await boot.wait(new RegExp(`build ${b3} was given up on this machine`));

    // A power cut while slot A is written (v1 offered again): the next boot is slot B's v2.
    await serve(v1);
    await boot.wait(new RegExp(`update: writing build ${b1} into slot a`));
    await new Promise((r) => setTimeout(r, 1000));
    boot.kill();
    await boot.exit;
    boot = next();
    await boot.wait(/AIOS-BOOT-REPORT /);
    const cut = boot.report?.slots;
    assert.deepEqual([cut?.slot, cut?.build, cut?.trial, cut?.other.state], ['b', b2, false, 'empty'], tail(boot));
    await boot.wait(/MARKER first=v1 now=v2/);
    boot.kill();
    await boot.exit;
  } catch (err) {
    const serial = await readFile(log, 'utf8').catch(() => '');
    throw new Error(`${(err as Error).message}\n--- serial log (last 80 lines) ---\n${serial.split('\n').slice(-80).join('\n')}`);
  } finally {
    await server?.close();
    assert.deepEqual(await qemuProcesses(dir), []);
    await rm(dir, { recursive: true, force: true });
  }
});
