// The CUDA image's llama-server on a real NVIDIA GPU (`npm run test:gpu`), on the host: the built
// root filesystem of examples/gpu-project (`npm run test:cuda` builds it) is copied out of
// rootfs.img and entered with chroot, with the host's own driver libraries bind-mounted over the
// image's (the user space must match the kernel module that is loaded, the host's here), every
// layer offloaded (-ngl 99); then the same server on the CPU, for tokens per second against it.
// It needs root (chroot, mount) and a GPU the image has code for (runtime.cudaArchitectures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, partitionOf } from '../boot/helpers.ts';
import type { BuildJson } from '../../common/build-json.ts';

const CUDA_OUT = process.env.AIOS_CUDA_OUT ?? join(ROOT, 'examples', 'gpu-project', 'out');
const PORT = 18181;

/** The host's GPU, or why this machine cannot run the test. */
function hostGpu(): { name: string; computeCap: string } | string {
  if (process.getuid?.() !== 0) return 'not root (chroot and bind mounts need it)';
  if (!existsSync('/dev/nvidiactl')) return 'no NVIDIA driver loaded on this host (/dev/nvidiactl is absent)';
  try {
    const line = execFileSync('nvidia-smi', ['--query-gpu=name,compute_cap', '--format=csv,noheader'], { encoding: 'utf8' }).split('\n')[0]!;
    const [name, computeCap] = line.split(',').map((s) => s.trim()) as [string, string];
    return { name, computeCap };
  } catch (err) {
    return `nvidia-smi on the host failed: ${(err as Error).message}`;
  }
}

/** The host's copy of a library, as its loader cache names it. */
function hostLibrary(soname: string): string {
  const line = execFileSync('ldconfig', ['-p'], { encoding: 'utf8' })
    .split('\n')
    .find((l) => l.trim().startsWith(`${soname} (`) && l.includes('x86-64'));
  if (!line) throw new Error(`the host has no ${soname} in its loader cache: its NVIDIA driver's user space is not installed`);
  return line.split('=>')[1]!.trim();
}

interface Served {
  log: string;
  perSecond: number;
  content: string;
}

/** llama-server in the chroot until it answers one completion; stopped by its pid. */
async function serve(root: string, model: string, extra: string[], env: Record<string, string>): Promise<Served> {
  // -lv 4: the library's own lines too (the layers offloaded); /proc is mounted: the loader reads
  // /proc/self/exe to resolve llama-server's RUNPATH ($ORIGIN).
  const args = [
    root,
    '/usr/lib/llama/llama-server',
    '--model',
    model,
    '--host',
    '127.0.0.1',
    '--port',
    String(PORT),
    '--ctx-size',
    '2048',
    '-lv',
    '4',
    ...extra,
  ];
  const child = spawn('chroot', args, { env: { PATH: '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  try {
    const deadline = Date.now() + 180_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}:\n${log.slice(-4000)}`);
      const ok = await fetch(`http://127.0.0.1:${PORT}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`llama-server not ready in 180 s:\n${log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const r = await fetch(`http://127.0.0.1:${PORT}/completion`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'The quick brown fox', n_predict: 64, temperature: 0 }),
    });
    const body = (await r.json()) as { content: string; timings: { predicted_per_second: number } };
    return { log, perSecond: body.timings.predicted_per_second, content: body.content };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
  }
}

test("the CUDA image's llama-server offloads every layer to this host's GPU and answers; tokens per second against the CPU", async (t) => {
  const gpu = hostGpu();
  if (typeof gpu === 'string') return t.skip(gpu);
  const built = JSON.parse(await readFile(join(CUDA_OUT, 'build.json'), 'utf8').catch(() => '{}')) as Partial<BuildJson>;
  const rt = built.inference?.runtime;
  assert.ok(rt?.cuda, `${CUDA_OUT} holds no CUDA image: run \`npm run test:cuda\` (or aios build --project examples/gpu-project) first`);
  const arch = gpu.computeCap.replace('.', '');
  assert.ok(
    rt.cuda.architectures.some((a) => a.replace(/-(real|virtual)$/, '') === arch || a.endsWith('-virtual')),
    `the image has code for ${rt.cuda.architectures.join(', ')}; this ${gpu.name} is ${arch}: add it to runtime.cudaArchitectures`,
  );
  const work = await mkdtemp(join(tmpdir(), 'aios-gpu-'));
  const root = join(work, 'root');
  const mounts: string[] = [];
  try {
    const part = join(work, 'part.img');
    partitionOf(join(CUDA_OUT, 'rootfs.img'), part);
    execFileSync('mkdir', ['-p', root]);
    for (const d of ['usr', 'lib', 'lib64', 'etc', 'var', 'bin', 'sbin'])
      execFileSync('/sbin/debugfs', ['-R', `rdump /${d} ${root}`, part], { stdio: 'ignore' });
    await rm(part);
    for (const d of ['dev', 'proc', 'sys', 'tmp']) execFileSync('mkdir', ['-p', join(root, d)]);
    const bind = (from: string, to: string) => {
      execFileSync('mount', ['--bind', from, to]);
      mounts.push(to);
    };
    bind('/dev', join(root, 'dev'));
    bind('/proc', join(root, 'proc'));
    bind('/sys', join(root, 'sys'));
    // The host's driver libraries over the image's: the loaded kernel module is the host's.
    for (const soname of built.gpu!.userspace!.sonames) {
      const inImage = await realpath(join(root, 'usr/lib/x86_64-linux-gnu', soname));
      bind(await realpath(hostLibrary(soname)), inImage);
    }
    const model = `/var/lib/aios/models/${built.inference!.model.file}`;
    const onGpu = await serve(root, model, ['-ngl', '99'], {});
    assert.match(onGpu.log, /ggml_cuda_init: found \d+ CUDA devices/, onGpu.log.slice(-3000));
    assert.ok(onGpu.log.includes(gpu.name), `the log names ${gpu.name}:\n${onGpu.log.slice(-3000)}`);
    const offload = /offloaded (\d+)\/(\d+) layers to GPU/.exec(onGpu.log);
    assert.ok(offload && offload[1] === offload[2], `every layer offloaded: ${offload?.[0] ?? 'no offload line'}`);
    assert.ok(onGpu.content.length > 0, 'an answer came back');
    const onCpu = await serve(root, model, ['-ngl', '0'], { CUDA_VISIBLE_DEVICES: '' });
    console.log(
      `${gpu.name} (sm_${arch}): ${onGpu.perSecond.toFixed(1)} tokens/s with every layer on the GPU, ${onCpu.perSecond.toFixed(1)} tokens/s on the CPU (${built.inference!.model.name})`,
    );
  } finally {
    for (const m of mounts.reverse()) execFileSync('umount', [m]);
    // Never a recursive removal through a mount that is still there (/dev, /proc, /sys).
    const left = (await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.split(' ')[1]?.startsWith(work));
    if (left.length) throw new Error(`mounts left under ${work}, which is kept:\n${left.join('\n')}`);
    await rm(work, { recursive: true, force: true });
  }
});
