import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const OUT = process.env.AIOS_TEST_OUT ?? join(ROOT, 'out');

/** Run the aios CLI; resolves with its exit code and output (never rejects on a non-zero exit). */
export function aios(args: string[], timeoutMs = 90 * 60_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin/aios.js'), ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, env: { ...process.env, CI: '1' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
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

/**
 * A copy of the direct-path files of OUT in a scratch directory, with /etc/aios/init.json of its
 * rootfs.img replaced by `edit(init.json)` through debugfs: a broken image made from test data
 * alone, never from a switch in aios-init.
 */
export async function imageWithInitJson(edit: (j: Record<string, unknown>) => Record<string, unknown>): Promise<string> {
  const { copyFile, mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { execFileSync } = await import('node:child_process');
  const dir = await mkdtemp(join(tmpdir(), 'aios-variant-'));
  for (const f of ['vmlinuz', 'initramfs.img', 'build.json', 'rootfs.img']) await copyFile(join(OUT, f), join(dir, f));
  const part = join(dir, 'part.img');
  execFileSync('dd', [`if=${join(dir, 'rootfs.img')}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
  const current = JSON.parse(
    execFileSync('/sbin/debugfs', ['-R', 'cat /etc/aios/init.json', part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
  ) as Record<string, unknown>;
  await writeFile(join(dir, 'init.json'), JSON.stringify(edit(current)));
  execFileSync('/sbin/debugfs', ['-w', '-R', 'rm /etc/aios/init.json', part], { stdio: 'ignore' });
  execFileSync('/sbin/debugfs', ['-w', '-R', `write ${join(dir, 'init.json')} /etc/aios/init.json`, part], { stdio: 'ignore' });
  execFileSync('dd', [`if=${part}`, `of=${join(dir, 'rootfs.img')}`, 'bs=1M', 'seek=1', 'conv=notrunc', 'status=none']);
  await rm(part);
  return dir;
}

export interface CheckedVariant {
  /** aios check's exit code and output. */
  r: { code: number; out: string };
  /** The checks of the direct path that failed, from check.json. */
  failed: { id: string; ok: boolean; detail: string }[];
  serial: string;
}

/**
 * `aios check` of the direct path on an image whose init.json is `edit(init.json)`; `judge` gets
 * the outcome. Afterwards no QEMU of it may be left, and the variant is removed.
 */
export async function checkVariant(
  edit: (j: Record<string, unknown>) => Record<string, unknown>,
  judge: (v: CheckedVariant) => Promise<void> | void,
): Promise<void> {
  const { readFile, rm } = await import('node:fs/promises');
  const dir = await imageWithInitJson(edit);
  try {
    const r = await aios(['check', '--out', dir, '--path', 'direct', '--accel', 'tcg', '--json', join(dir, 'check.json')]);
    const json = JSON.parse(await readFile(join(dir, 'check.json'), 'utf8').catch(() => '{"results":[{"checks":[]}]}')) as {
      results: { checks: CheckedVariant['failed'] }[];
    };
    const serial = await readFile(join(dir, 'logs', 'serial-direct.log'), 'utf8').catch(() => '');
    await judge({ r, failed: json.results[0]!.checks.filter((c) => !c.ok), serial });
    assert.deepEqual(await qemuProcesses(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
