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

/** A broken image made from test data alone (never from a switch in aios-init), and how to check it. */
export interface Variant {
  /** /etc/aios/init.json of the image replaced by this edit of it. */
  initJson?: (j: Record<string, unknown>) => Record<string, unknown>;
  /** Files written into the image: path -> text (mode 0644 unless given). */
  files?: Record<string, { text: string; mode?: number }>;
  /** Hard links made in the image: new path -> the existing file it names too. */
  links?: Record<string, string>;
  /** vmlinuz padded with zeros to this many bytes (a bzImage ignores what follows it). */
  kernelBytes?: number;
  /** aios.json of a project the check reads (its budgets, its kernel command line). */
  project?: Record<string, unknown>;
  /** More arguments for aios check. */
  args?: string[];
}

/** A copy of the direct-path files of OUT in a scratch directory, changed as `v` says. */
export async function makeVariant(v: Variant): Promise<string> {
  const { copyFile, mkdtemp, rm, writeFile, truncate } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { execFileSync } = await import('node:child_process');
  const dir = await mkdtemp(join(tmpdir(), 'aios-variant-'));
  for (const f of ['vmlinuz', 'initramfs.img', 'build.json', 'rootfs.img']) await copyFile(join(OUT, f), join(dir, f));
  if (v.kernelBytes) await truncate(join(dir, 'vmlinuz'), v.kernelBytes);
  if (v.project) await writeFile(join(dir, 'aios.json'), JSON.stringify(v.project));
  const files = { ...v.files };
  const part = `${join(dir, 'rootfs.img')}?offset=${1 << 20}`;
  const debugfs = (cmd: string) => execFileSync('/sbin/debugfs', ['-w', '-R', cmd, part], { stdio: 'ignore' });
  const debugfsRead = (cmd: string) => execFileSync('/sbin/debugfs', ['-R', cmd, part], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  if (v.initJson) {
    const current = JSON.parse(debugfsRead('cat /etc/aios/init.json')) as Record<string, unknown>;
    files['/etc/aios/init.json'] = { text: JSON.stringify(v.initJson(current)) };
  }
  let n = 0;
  for (const [path, f] of Object.entries(files)) {
    const src = join(dir, `file-${n++}`);
    await writeFile(src, f.text);
    debugfs(`rm ${path}`);
    debugfs(`write ${src} ${path}`);
    debugfs(`sif ${path} mode 0${(0o100000 | (f.mode ?? 0o644)).toString(8)}`);
    await rm(src);
  }
  for (const [path, target] of Object.entries(v.links ?? {})) {
    // debugfs's ln leaves the link count alone; e2fsck -fn after the boot would see it wrong.
    const links = Number(/Links: (\d+)/.exec(debugfsRead(`stat ${target}`))?.[1]);
    debugfs(`ln ${target} ${path}`);
    debugfs(`sif ${target} links_count ${links + 1}`);
  }
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
 * `aios check` of the direct path on a variant image; `judge` gets the outcome. Afterwards no
 * QEMU of it may be left, and the variant is removed.
 */
export async function checkVariant(
  variant: Variant | ((j: Record<string, unknown>) => Record<string, unknown>),
  judge: (v: CheckedVariant) => Promise<void> | void,
): Promise<void> {
  const { readFile, rm } = await import('node:fs/promises');
  const v = typeof variant === 'function' ? { initJson: variant } : variant;
  const dir = await makeVariant(v);
  try {
    const project = v.project ? ['--project', dir] : [];
    const r = await aios(['check', ...project, '--out', dir, '--path', 'direct', '--accel', 'tcg', '--json', join(dir, 'check.json'), ...(v.args ?? [])]);
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
