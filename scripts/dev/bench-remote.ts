// npm run bench -- --remote: two CI runners sharing one compile cache. A redis-server of its own
// on 127.0.0.1 (stopped by its pid); runner A builds into an empty cache with it as ccache's remote
// storage, then runner B does the same into another empty cache at the same path (two runners see
// the same paths; the kernel's object tree lives in the cache). What is not compiled (the kernel
// source, the downloads, llama-server and the model) comes from this machine's cache, so that the
// two builds time the kernel and the NVIDIA modules. Prints each build's time, its kernel and NVIDIA
// steps, ccache's counters, and whether the two images are the same bytes.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBuildJson } from '../../common/build-json.ts';
import { freePort } from '../../qemu/runner.ts';

type Cli = (root: string, a: string[], env?: Record<string, string>) => { seconds: number };

const SHARED = ['downloads', 'sources'];
const SHARED_STEPS = ['runtime', 'model'];

function ccacheStats(dir: string): Record<string, number> {
  const r = spawnSync('ccache', ['--print-stats'], { env: { ...process.env, CCACHE_DIR: dir }, encoding: 'utf8' });
  return Object.fromEntries(
    r.stdout
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([k, v]) => k && v !== undefined)
      .map(([k, v]) => [k, Number(v)]),
  );
}

const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

export async function remoteCacheFigures(root: string, primary: string, cli: Cli) {
  const dir = await mkdtemp(join(tmpdir(), 'aios-remote-'));
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const gone = new Promise((r) => redis.once('exit', r));
  const remote = `redis://127.0.0.1:${port}`;
  const cache = join(dir, 'cache');
  const runners: Record<string, unknown>[] = [];
  try {
    for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++)
      await new Promise((r) => setTimeout(r, 100));
    for (const name of ['A', 'B']) {
      await mkdir(join(cache, 'steps'), { recursive: true });
      for (const d of SHARED) await symlink(join(primary, d), join(cache, d));
      for (const d of SHARED_STEPS) await symlink(join(primary, 'steps', d), join(cache, 'steps', d));
      const out = join(cache, 'out');
      console.error(`runner ${name}: aios build into an empty cache, ccache's remote ${remote}`);
      const r = cli(root, ['build', '--out', out, '--cache', cache], { AIOS_CCACHE_REMOTE: remote });
      const steps = (await readBuildJson(out)).steps;
      const step = (n: string) => steps.find((s) => s.name === n)?.seconds ?? null;
      const stats = ccacheStats(join(cache, 'ccache'));
      runners.push({
        runner: name,
        seconds: Math.round(r.seconds),
        kernelSeconds: step('kernel'),
        nvidiaSeconds: step('gpu-modules'),
        compiled: stats.cache_miss ?? null,
        remoteHits: stats.remote_storage_hit ?? null,
        image: await sha(join(out, 'rootfs.img')),
      });
      // Runner B starts as a new machine would: its own empty cache at the same path.
      await rename(cache, join(dir, `runner-${name}`));
    }
  } finally {
    redis.kill('SIGTERM');
    await gone;
    await rm(dir, { recursive: true, force: true });
  }
  return { remote: 'redis-server on 127.0.0.1', runners, sameImage: runners.length === 2 && runners[0]!.image === runners[1]!.image };
}

export function remoteTable(f: Awaited<ReturnType<typeof remoteCacheFigures>>): string {
  const rows = f.runners.map(
    (r) =>
      `runner ${String(r.runner)}: ${String(r.seconds)} s (kernel ${String(r.kernelSeconds)} s, NVIDIA ${String(r.nvidiaSeconds)} s); compiled ${String(r.compiled)}, remote hits ${String(r.remoteHits)}`,
  );
  return [...rows, `rootfs.img the same bytes from both runners: ${f.sameImage ? 'yes' : 'NO'}`].join('\n');
}
