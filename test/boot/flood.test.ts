// The status endpoint under a bounded flood from the host: PID 1 keeps supervising and reaping
// while it lasts, and a power-off asked for in the middle of it still completes in time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { makeVariant, qemuProcesses, extended } from './helpers.ts';
import { qemuArgs } from '../../qemu/cmdline.ts';
import { QEMU, freePort } from '../../qemu/runner.ts';
import { checkBootedDisk } from '../../qemu/disk-check.ts';
import { copySparse } from '../../common/copy-sparse.ts';
import { qmpCommand } from '../../qemu/qmp.ts';
import { request } from '../../qemu/http.ts';
import { quoteCommand } from '../../common/exec.ts';
import { vmOptions } from '../../qemu/vm-options.ts';
import { defaults } from '../../common/schema.ts';
import { projectSpec } from '../../scripts/project/config.ts';

const CLIENTS = 32;
const FLOOD_SEC = 20;
const POWEROFF_LIMIT_SEC = 30;

/** A service that restarts about once a second and leaves an orphan each time: work for supervision and the reaper. */
const churn = {
  name: 'churn',
  command: '/bin/sh',
  args: ['-c', '(sleep 0.2 &); echo "churn-$(cut -d" " -f1 /proc/uptime)"; sleep 0.5; exit 1'],
  restart: 'always',
  stableSeconds: 0.4,
};

/** `p`, or `undefined` after `ms`; the timer never outlives the race (it would hold the test process open). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

let token = '';
const auth = (): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

/** `clients` loops of GET /status, each on a connection of its own, until `stop()`. */
function flood(port: number, clients: number) {
  const tally = { answered: 0, refused: 0 };
  let on = true;
  const loops = Array.from({ length: clients }, async () => {
    while (on) {
      try {
        const r = await request(`http://127.0.0.1:${port}/status`, { timeoutMs: 5000, headers: auth() });
        if (r.status === 200) tally.answered++;
        else tally.refused++;
      } catch {
        tally.refused++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });
  return {
    tally,
    stop: async () => {
      on = false;
      await Promise.all(loops);
    },
  };
}

/** The status report, asked for until it is answered (the flood takes most connections). */
async function status(port: number): Promise<{ zombies: number[] }> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await request(`http://127.0.0.1:${port}/status`, { timeoutMs: 5000, headers: auth() });
      if (r.status === 200) return JSON.parse(r.body) as { zombies: number[] };
    } catch {
      /* dropped by the connection limit: ask again */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the status endpoint never answered during the flood');
}

test(
  `${CLIENTS} clients flooding /status for ${FLOOD_SEC} s: supervision and reaping go on, and power-off completes within ${POWEROFF_LIMIT_SEC} s`,
  extended,
  async () => {
    // The image's own status token, read from its init.json as the variant is made.
    const dir = await makeVariant({ initJson: (j) => ((token = String(j.statusToken ?? '')), { ...j, services: [...(j.services as unknown[]), churn] }) });
    const hostPort = await freePort();
    const o = { ...(await vmOptions({ out: dir }, defaults(projectSpec), 'direct', 'tcg')), hostPort, snapshot: false };
    // The image as built, for the disk check after the boot (this boot writes the variant itself).
    await copySparse(join(dir, 'rootfs.img'), join(dir, 'built.img'));
    const argv = qemuArgs({ ...o, interactive: false, qmpSocket: join(dir, 'qmp.sock') });
    const child = spawn(QEMU, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    let reported: () => void = () => {};
    const report = new Promise<void>((r) => (reported = r));
    createInterface({ input: child.stdout }).on('line', (l) => {
      lines.push(l);
      if (l.includes('AIOS-BOOT-REPORT ')) reported();
    });
    const evidence = () => `QEMU: ${quoteCommand(QEMU, argv)}\n--- serial (last 60 lines) ---\n${lines.slice(-60).join('\n')}`;
    const uptimes = () => lines.flatMap((l) => /^churn: churn-(\d+\.\d+)/.exec(l)?.[1] ?? []).map(Number);
    try {
      assert.equal(
        await within(
          report.then(() => true),
          180_000,
        ),
        true,
        `no boot report in 180 s\n${evidence()}`,
      );
      const before = uptimes().length;
      const load = flood(hostPort, CLIENTS);
      await new Promise((r) => setTimeout(r, (FLOOD_SEC / 2) * 1000));
      const first = await status(hostPort);
      await new Promise((r) => setTimeout(r, 1500));
      const second = await status(hostPort);
      await new Promise((r) => setTimeout(r, (FLOOD_SEC / 2) * 1000));
      const during = uptimes().slice(before);

      // Power-off in the middle of the flood, which goes on until QEMU is gone.
      const t0 = performance.now();
      await qmpCommand(join(dir, 'qmp.sock'), 'system_powerdown');
      const how =
        (await within(
          exited.then(() => 'exit'),
          POWEROFF_LIMIT_SEC * 1000,
        )) ?? 'timeout';
      const offSec = (performance.now() - t0) / 1000;
      await load.stop();
      const { answered, refused } = load.tally;
      console.log(
        `flood: ${answered} answered, ${refused} dropped or refused; churn ran ${during.length} times in ${FLOOD_SEC} s; power-off took ${offSec.toFixed(1)} s`,
      );

      assert.equal(how, 'exit', `QEMU still running ${POWEROFF_LIMIT_SEC} s after system_powerdown\n${evidence()}`);
      assert.ok(
        lines.some((l) => /reboot: Power down/.test(l)),
        `the kernel powered off\n${evidence()}`,
      );
      assert.ok(answered >= FLOOD_SEC, `the endpoint kept answering (${answered} in ${FLOOD_SEC} s)\n${evidence()}`);
      // Unloaded, churn runs once every 1.0-1.2 s: a starved supervisor shows as few runs and long gaps.
      assert.ok(during.length >= FLOOD_SEC / 2, `churn restarted ${during.length} times in ${FLOOD_SEC} s\n${evidence()}`);
      const gaps = during.slice(1).map((u, i) => u - during[i]!);
      assert.ok(Math.max(...gaps) < 4, `longest gap between churn runs ${Math.max(...gaps).toFixed(2)} s\n${evidence()}`);
      const stuck = first.zombies.filter((z) => second.zombies.includes(z));
      assert.deepEqual(stuck, [], `zombies left unreaped for 1.5 s during the flood\n${evidence()}`);
      const fsck = await checkBootedDisk(join(dir, 'rootfs.img'), join(dir, 'built.img'));
      assert.ok(fsck.ok, `${fsck.detail}\n${evidence()}`);
    } finally {
      child.kill('SIGKILL');
      await exited;
      assert.deepEqual(await qemuProcesses(dir), []);
      await rm(dir, { recursive: true, force: true });
    }
  },
);
