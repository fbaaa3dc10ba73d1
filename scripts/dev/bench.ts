// npm run bench [-- --cold] [-- --no-boot] [-- --boots=N]: build and boot figures, as a table and
// as JSON. The direct path boots N more times (default 5): one boot's start-up varies by ±10 %;
// then N times more with nothing to start (no DHCP, no services): Node's and aios-init's own floor.
// Warm figures come from the cache in use; --cold builds once more into an empty cache, its ccache
// empty too, as a new CI runner's (about 50 min on 2 cores), so that the cold column is measured,
// not remembered; every compile ccache runs is timed (scripts/dev/compile-timer.sh) and the parts
// of the build are printed: kernel families, ggml CPU variants, NVIDIA modules.
// --remote builds the kernel and the NVIDIA modules twice, as two CI runners sharing a Redis
// compile cache (bench-remote.ts), and exits.
// --cuda times the CUDA backend of examples/gpu-project cold, from ccache and cached, sizes what it
// adds, boots it and the default image for the time to a ready server (bench-cuda.ts), and exits.
// --compile-log=FILE prints those parts from a log the timer wrote elsewhere (a cold .ci/run with
// CCACHE_PREFIX=scripts/dev/compile-timer.sh and AIOS_COMPILE_LOG=FILE) and exits.
import { spawnSync } from 'node:child_process';
import { appendFile, cp, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeImageVariant } from '../images/image-variant.ts';
import { readBuildJson, type StepRecord as Step } from '../../common/build-json.ts';
import { defaults } from '../../common/schema.ts';
import { projectSpec } from '../project/config.ts';
import { checkBuild } from '../../qemu/harness.ts';
import { chooseAccel } from '../../qemu/vm-options.ts';
import { compileParts, partsTable } from './compile-parts.ts';
import { remoteCacheFigures, remoteTable } from './bench-remote.ts';
import { cudaFigures, cudaTable } from './bench-cuda.ts';
import type { BootPath } from '../../qemu/cmdline.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const args = new Set(process.argv.slice(2));

const cli = (root: string, a: string[], env: Record<string, string> = {}) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [join(root, 'bin/aios.js'), ...a], { env: { ...process.env, CI: '1', ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`aios ${a.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return { seconds: (performance.now() - t0) / 1000, out: r.stdout };
};
/** Boots through the harness `aios check` uses (qemu/harness.ts), with the default project's settings, under the accelerator that answers. */
async function check(dir: string, paths: BootPath[]) {
  const { accel, why } = await chooseAccel('auto', join(dir, 'vmlinuz'));
  return checkBuild({ out: dir, config: defaults(projectSpec), paths, accel, accelWhy: why });
}
const steps = async (out: string) => (await readBuildJson(out)).steps;
const size = async (f: string) => (await stat(f)).size;

const out = join(ROOT, 'out');
const figures: Record<string, unknown> = {};

if (args.has('--remote')) {
  const remote = await remoteCacheFigures(ROOT, process.env.AIOS_CACHE ?? join(homedir(), '.cache', 'aios'), cli);
  console.log(remoteTable(remote));
  console.log(JSON.stringify(remote, null, 2));
  process.exit(0);
}

if (args.has('--cuda')) {
  const direct = async (dir: string) => (await check(dir, ['direct']))[0]?.figures;
  const cuda = await cudaFigures(ROOT, process.env.AIOS_CACHE ?? join(homedir(), '.cache', 'aios'), out, cli, direct);
  console.log(cudaTable(cuda));
  console.log(JSON.stringify(cuda, null, 2));
  process.exit(0);
}

const compileLog = [...args].find((a) => a.startsWith('--compile-log='))?.slice('--compile-log='.length);
if (compileLog) {
  console.log(partsTable(compileParts(await readFile(compileLog, 'utf8'))));
  process.exit(0);
}

if (args.has('--cold')) {
  const cache = await mkdtemp(join(tmpdir(), 'aios-cold-'));
  const coldOut = join(cache, 'out');
  const log = join(cache, 'compiles.log');
  await writeFile(log, '');
  const r = cli(ROOT, ['build', '--out', coldOut, '--cache', cache], {
    CCACHE_PREFIX: join(ROOT, 'scripts/dev/compile-timer.sh'),
    AIOS_COMPILE_LOG: log,
  });
  const parts = compileParts(await readFile(log, 'utf8'));
  figures.cold = { totalSeconds: r.seconds, steps: await steps(coldOut), parts };
  console.log(partsTable(parts));
  await rm(cache, { recursive: true, force: true });
}

/** How long a step took when its cached output was made (cold run first, else the cache's own record). */
function f0(all: Record<string, unknown>, name: string): number | undefined {
  const pick = (k: string) => ((all[k] as { steps?: Step[] } | undefined)?.steps ?? []).find((s) => s.name === name);
  const s = pick('cold') ?? pick('warm');
  return s?.cacheHit ? s.producedSeconds : s?.seconds;
}

const warm = cli(ROOT, ['build', '--out', out]);
figures.warm = { totalSeconds: warm.seconds, steps: await steps(out) };
// The median of five no-op builds: one alone moves by a few tenths with whatever else runs.
const noops = Array.from({ length: 5 }, () => cli(ROOT, ['build', '--out', out]).seconds).sort((a, b) => a - b);
figures.noopRebuildSeconds = noops[2];
figures.noopRebuildRuns = noops;

// A change to init/ only, in a copy of the project sharing the cache: the kernel must stay cached.
const copy = await mkdtemp(join(tmpdir(), 'aios-bench-'));
for (const d of ['bin', 'dist', 'scripts', 'common', 'init', 'initramfs', 'rootfs', 'kernel-config', 'gpu-modules', 'qemu', 'package.json'])
  await cp(join(ROOT, d), join(copy, d), { recursive: true });
await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
await appendFile(join(copy, 'init/src/main.ts'), `\n// bench ${Date.now()}\n`);
const initOut = join(copy, 'out');
const changed = cli(copy, ['build', '--out', initOut]);
figures.initChangeRebuild = { totalSeconds: changed.seconds, rebuilt: (await steps(initOut)).filter((s) => !s.cacheHit).map((s) => s.name) };
await rm(copy, { recursive: true, force: true });

// One file of a project's overlay changed: a project of the default image plus one overlay file,
// built once, then again with the file's text changed.
const project = await mkdtemp(join(tmpdir(), 'aios-bench-overlay-'));
try {
  await writeFile(join(project, 'aios.json'), JSON.stringify({ overlay: ['overlay'] }));
  const file = join(project, 'overlay/etc/aios-bench.txt');
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `first ${Date.now()}\n`);
  const projectOut = join(project, 'out');
  cli(ROOT, ['build', '--project', project, '--out', projectOut]);
  await writeFile(file, `second ${Date.now()}\n`);
  const r = cli(ROOT, ['build', '--project', project, '--out', projectOut]);
  figures.overlayChangeRebuild = { totalSeconds: r.seconds, rebuilt: (await steps(projectOut)).filter((s) => !s.cacheHit).map((s) => s.name) };
} finally {
  await rm(project, { recursive: true, force: true });
}

figures.sizes = {
  bzImage: await size(join(out, 'vmlinuz')),
  initramfs: await size(join(out, 'initramfs.img')),
  rootfsImg: await size(join(out, 'rootfs.img')),
  iso: await size(join(out, 'aios.iso')),
  aiosInit:
    (JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { files: { path: string; size: number }[] }).files.find(
      (f) => f.path === '/usr/sbin/aios-init',
    )?.size ?? 0,
};

// The inference runtime: what building it cost when it was built, and what it adds to the image.
const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as {
  runtime?: { files: string[]; libraries: string[]; model: { bytes: number } };
  files: { path: string; size: number }[];
};
const sizeOf = (p: string) => manifest.files.find((f) => f.path === p)?.size ?? 0;
if (manifest.runtime) {
  const rt = manifest.runtime;
  const own = rt.files.reduce((n, f) => n + sizeOf(f), 0);
  const initLibs = new Set((await readBuildJson(out)).inference?.runtime?.hostLibraries ?? []);
  figures.runtime = {
    buildSeconds: f0(figures, 'runtime'),
    modelSeconds: f0(figures, 'model'),
    serverBytes: sizeOf('/usr/lib/llama/llama-server'),
    libraryBytes: own - sizeOf('/usr/lib/llama/llama-server'),
    files: rt.files.length,
    hostLibraries: [...initLibs],
    modelBytes: rt.model.bytes,
    imageBytesAdded: own + rt.model.bytes,
  };
}

// NVIDIA's open modules: what building them cost when they were built, and what they and the GSP firmware add.
const gpu = (await readBuildJson(out)).gpu.modules;
if (gpu) {
  figures.gpuModules = {
    driver: gpu.driver,
    buildSeconds: f0(figures, 'gpu-modules'),
    moduleBytes: gpu.modules.reduce((n, m) => n + m.bytes, 0),
    firmwareBytes: gpu.firmware.reduce((n, m) => n + m.bytes, 0),
  };
}

if (!args.has('--no-boot')) {
  const results = await check(out, ['direct', 'iso-bios', 'iso-uefi']);
  figures.boot = {
    accel: results[0]?.accel,
    passed: results.every((x) => x.checks.every((c) => c.ok)),
    paths: Object.fromEntries(
      results.map((x) => [
        x.path,
        {
          ...x.figures,
          ...(x.figures.serverReadySec !== undefined && x.figures.firstTokenMs !== undefined
            ? { bootToFirstTokenSec: +(x.figures.serverReadySec + x.figures.firstTokenMs / 1000).toFixed(2) }
            : {}),
        },
      ]),
    ),
  };
}

const boots = Number([...args].find((a) => a.startsWith('--boots='))?.slice(8) ?? 5);

/** `boots` direct boots of the build in `dir` by aios check: exec to ready and where its time went. */
async function directStartup(dir: string) {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < boots; i++) {
    // Only the figures count: the image with nothing to start fails the network and inference checks.
    const r = (await check(dir, ['direct']))[0]?.figures as Record<string, number> | undefined;
    // aios-init's own part (ready less loaded): what a change to aios-init moves, apart from Node's start.
    if (r?.execToReadyMs !== undefined) runs.push({ ...r, stepsMs: r.execToReadyMs - r.mainStartMs! });
  }
  const spread = (k: string) => {
    const v = runs.map((r) => r[k]!).sort((a, b) => a - b);
    return { median: v[Math.floor(v.length / 2)], min: v[0], max: v[v.length - 1] };
  };
  const keys = ['execToReadyMs', 'v8StartMs', 'nodeBootstrapMs', 'mainStartMs', 'stepsMs'];
  return { boots: runs.length, ...Object.fromEntries(keys.map((k) => [k, spread(k)])) };
}

if (!args.has('--no-boot') && boots > 0) {
  figures.directStartup = await directStartup(out);
  // The same image with nothing to start (no DHCP, no services, no inference watch): what Node and
  // aios-init's fixed steps cost alone, the floor under any configuration's exec to ready.
  const bare = await makeImageVariant(out, { initJson: (j) => ({ ...j, network: { dhcp: false }, services: [], inference: undefined }) });
  try {
    figures.directStartupNothingToStart = await directStartup(bare);
  } finally {
    await rm(bare, { recursive: true, force: true });
  }
}

const f = figures as { warm: { steps: Step[] }; cold?: { steps: Step[] } };
const rows = f.warm.steps.map((s) => {
  const c = f.cold?.steps.find((x) => x.name === s.name);
  return `${s.name.padEnd(12)} ${(c ? `${c.seconds.toFixed(1)} s / ${c.cpuSeconds.toFixed(1)} s` : 'n/a').padEnd(24)} ${s.seconds.toFixed(2)} s / ${s.cpuSeconds.toFixed(2)} s${s.cacheHit ? ' (cached)' : ''}`;
});
console.log(`step         cold wall / cpu          warm wall / cpu\n${rows.join('\n')}`);
const rebuilt = (k: string) => figures[k] as { totalSeconds: number; rebuilt: string[] };
console.log(`no-op build: median ${noops[2]!.toFixed(2)} s of 5 (${noops.map((x) => x.toFixed(2)).join(', ')})`);
for (const [label, k] of [
  ['a change in init/', 'initChangeRebuild'],
  ['one overlay file changed', 'overlayChangeRebuild'],
] as const)
  console.log(`${label}: ${rebuilt(k).totalSeconds.toFixed(1)} s to new images (steps run: ${rebuilt(k).rebuilt.join(', ')})`);
const boot = (figures.boot as { paths?: Record<string, Record<string, number | undefined>> } | undefined)?.paths ?? {};
for (const [path, b] of Object.entries(boot))
  console.log(
    `${path.padEnd(9)} exec to ready ${b.execToReadyMs} ms (V8 started at ${b.v8StartMs} ms, Node bootstrapped at ${b.nodeBootstrapMs} ms, aios-init loaded at ${b.mainStartMs} ms); boot report ${b.reportSec?.toFixed(1)} s after QEMU start`,
  );
for (const [label, key] of [
  ['direct', 'directStartup'],
  ['bare', 'directStartupNothingToStart'],
] as const) {
  const ds = figures[key] as Record<string, { median: number; min: number; max: number }> & { boots: number };
  if (!ds?.boots) continue;
  const fmt = (k: string) => `${ds[k]!.median} ms (${ds[k]!.min}–${ds[k]!.max})`;
  console.log(
    `${label.padEnd(9)} over ${ds.boots} boots, median (min–max): exec to ready ${fmt('execToReadyMs')}; V8 started at ${fmt('v8StartMs')}; Node bootstrapped at ${fmt('nodeBootstrapMs')}; aios-init loaded at ${fmt('mainStartMs')}; its steps ${fmt('stepsMs')}`,
  );
}
console.log(JSON.stringify(figures, null, 2));
await writeFile(join(out, 'bench.json'), JSON.stringify(figures, null, 2));
