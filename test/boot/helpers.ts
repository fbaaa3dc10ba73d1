import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { makeImageVariant, type ImageEdit } from '../../scripts/images/image-variant.ts';
import { loadProject } from '../../scripts/project/locate.ts';
import { checkBuild } from '../../qemu/harness.ts';
import { table } from '../../qemu/output.ts';
import { bootsIsoRoot, type BootPath } from '../../qemu/cmdline.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const OUT = process.env.AIOS_TEST_OUT ?? join(ROOT, 'out');

/**
 * The boot suite's second tier, for `test(name, extended, fn)`. `.ci/run` runs the first: every
 * boot path, one broken image per check, each security boundary, the project and its
 * reproducibility. A cold CI on two cores (about 50 min of kernel and llama.cpp build) has no room
 * for more, so the variations (a second broken image of a check already covered, the watchdog's
 * resets and halts, a flood, the debug tools and the console shell, the builds twice over) run with
 * `npm run test:boot:all` (AIOS_BOOT_TIER=all); CI lists them as skipped.
 */
export const extended = process.env.AIOS_BOOT_TIER === 'all' ? {} : { skip: 'extended tier: npm run test:boot:all' };

/** Run the aios CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
export function aios(args: string[], timeoutMs = 90 * 60_000, env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/aios.js'), ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, env: { ...process.env, CI: '1', ...env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

/** Partition 1 of a disk image (at 1 MiB), for debugfs. */
export function partitionOf(disk: string, part: string): void {
  execFileSync('dd', [`if=${disk}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
}

/** A C program of test/boot/fixtures/ built static, for the image's own libc not to matter. */
export async function staticFixture(name: string): Promise<Buffer> {
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), `aios-${name}-`));
  try {
    const binary = join(dir, name);
    await new Promise<void>((resolve, reject) =>
      execFile('gcc', ['-static', '-O2', '-o', binary, join(import.meta.dirname, 'fixtures', `${name}.c`)], (err) => (err ? reject(err) : resolve())),
    );
    return await readFile(binary);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** QEMU processes whose command line mentions `needle`. */
export async function qemuProcesses(needle: string): Promise<string[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.startsWith('qemu-system') && cmd.includes(needle)) out.push(`${pid}: ${cmd.replace(/\0/g, ' ')}`);
  }
  return out;
}

/** A broken image made from test data alone (never from a switch in aios-init), and how to check it. */
export interface Variant extends ImageEdit {
  /** More arguments for aios check. */
  args?: string[];
}

/** A copy of the direct-path files of OUT in a scratch directory, changed as `v` says. */
export const makeVariant = (v: Variant): Promise<string> => makeImageVariant(OUT, v);

export interface CheckedVariant {
  /** The check's exit code (as `aios check` would give it) and its output. */
  r: { code: number; out: string };
  /** The checks of the direct path that failed, from check.json. */
  failed: { id: string; ok: boolean; detail: string }[];
  serial: string;
}

/**
 * The check of the direct path on a variant image (of OUT's build, or `from`'s), through the boot
 * harness that `aios check` calls (qemu/harness.ts); `judge` gets the outcome. Afterwards no QEMU of it may be left, and
 * the variant is removed.
 */
export async function checkVariant(
  variant: Variant | ((j: Record<string, unknown>) => Record<string, unknown>),
  judge: (v: CheckedVariant) => Promise<void> | void,
  path: BootPath = 'direct',
  prepare?: (dir: string) => Promise<void>,
  from: string = OUT,
): Promise<void> {
  const { readFile, rm } = await import('node:fs/promises');
  const v = typeof variant === 'function' ? { initJson: variant } : variant;
  const dir = await makeImageVariant(from, { ...v, withIso: v.withIso || bootsIsoRoot(path) });
  try {
    await prepare?.(dir);
    const { config } = await loadProject(v.project ? { project: dir } : {});
    const qemuArgs = (v.args ?? []).map((a) => {
      const m = /^--qemu-arg=(.*)$/s.exec(a);
      if (!m) throw new Error(`a variant's args are --qemu-arg=... only, not ${a}`);
      return m[1]!;
    });
    const lines: string[] = [];
    const results = await checkBuild({
      out: dir,
      config,
      paths: [path],
      accel: 'tcg',
      accelWhy: 'the boot tests run TCG',
      qemuArgs,
      say: (l) => lines.push(l),
    });
    const failed = results[0]!.checks.filter((c) => !c.ok);
    const r = { code: failed.length ? 1 : 0, out: `${lines.join('\n')}\n${table(results)}` };
    const serial = await readFile(join(dir, 'logs', `serial-${path}.log`), 'utf8').catch(() => '');
    await judge({ r, failed, serial });
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The variant fails exactly `id`, with a detail that matches `detail`. */
export function failsOnly(id: string, detail: RegExp): (v: CheckedVariant) => void {
  return ({ r, failed, serial }) => {
    const tail = `${r.out}\n--- serial (last 60 lines) ---\n${serial.split('\n').slice(-60).join('\n')}`;
    assert.equal(r.code, 1, tail);
    assert.deepEqual(
      failed.map((c) => c.id),
      [id],
      tail,
    );
    assert.match(failed[0]!.detail, detail, tail);
  };
}

/** `aios run` with a pipe for its console: wait for output, type into it. */
export function aiosRun(args: string[], out = OUT) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/aios.js'), 'run', '--out', out, '--accel', 'tcg', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const feed = (d: Buffer) => {
    text += d.toString();
    for (const w of [...waiters]) if (w.re.test(text)) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
  };
  child.stdout.on('data', feed);
  child.stderr.on('data', feed);
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  return {
    child,
    exited,
    text: () => text,
    type: (s: string) => child.stdin.write(s),
    waitFor: (re: RegExp, ms = 180_000) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(text)) return resolve();
        const t = setTimeout(() => reject(new Error(`no ${re} within ${ms / 1000} s; console so far:\n${text.slice(-4000)}`)), ms);
        waiters.push({ re, resolve: () => (clearTimeout(t), resolve()) });
      }),
  };
}

/** SIGTERM, on which aios run kills its QEMU and removes its scratch directory. */
export async function stop(vm: ReturnType<typeof aiosRun>): Promise<void> {
  if (vm.child.exitCode !== null || vm.child.signalCode !== null) return;
  vm.child.kill('SIGTERM');
  await vm.exited;
}

/**
 * `aios run --shell` for `session`, which types into the guest's shell; then poweroff, which must
 * end aios run with 0. A failure carries the console's tail; QEMU never outlives the test.
 */
export async function withShell(args: string[], out: string, session: (vm: ReturnType<typeof aiosRun>) => Promise<void>): Promise<void> {
  const vm = aiosRun([...args, '--shell'], out);
  try {
    await vm.waitFor(/aios# /);
    await session(vm);
    vm.type('poweroff\n');
    await vm.waitFor(/reboot: Power down/, 90_000);
    assert.equal(await vm.exited, 0, vm.text().slice(-3000));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- console (last 4000 characters) ---\n${vm.text().slice(-4000)}`);
  } finally {
    await stop(vm);
  }
}
