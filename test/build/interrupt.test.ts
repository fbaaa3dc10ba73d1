// SIGTERM and SIGINT at points of a cold `aios build` (each download, unpack and compile, in an
// empty cache): each time aios exits with 128 + the signal, and no temporary path and no child
// process (tar, make, the compilers, ninja) is left. Downloads come from a server on 127.0.0.1
// that serves the files an earlier build left in the main cache (run `aios build` first).
// Opt-in (`npm run test:interrupt`, about 10 minutes): a cold build is too long for every CI run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createReadStream, existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../../scripts/lib/hash.ts';
import { scratchDir } from '../unit/scratch.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN_CACHE = process.env.AIOS_CACHE ?? join(homedir(), '.cache', 'aios');

function mainCacheFile(re: RegExp): string {
  const dir = join(MAIN_CACHE, 'downloads');
  const name = existsSync(dir) ? readdirSync(dir).find((f) => re.test(f)) : undefined;
  assert.ok(name, `${dir} has no file like ${re}: run \`aios build\` once first (this test serves its downloads)`);
  return join(dir, name);
}

/** A file server on 127.0.0.1 with ranges; `slow` trickles 64 KiB every 100 ms. */
async function serve(files: Record<string, string>): Promise<{ url: string; server: Server; setSlow: (s: boolean) => void }> {
  let slow = true;
  const server = createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (!file) return void res.writeHead(404).end();
    const size = statSync(file).size;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start >= size && m) return void res.writeHead(416).end();
    res.writeHead(m ? 206 : 200, { 'content-length': size - start, ...(m ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}) });
    const stream = createReadStream(file, { start, highWaterMark: 64 * 1024 });
    if (!slow) return void stream.pipe(res);
    stream.on('data', (chunk) => {
      res.write(chunk);
      stream.pause();
      setTimeout(() => stream.resume(), 100);
    });
    stream.on('end', () => res.end());
    res.on('close', () => stream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, server, setSlow: (s) => (slow = s) };
}

/** Every path under `dir` that a finished or interrupted run must not leave (kept downloads to resume are not). */
async function leftovers(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (/\.tmp-|^\.unpack|\.tmp$/.test(e.name)) out.push(p);
      if (e.isDirectory() && !e.isSymbolicLink() && !p.includes('/sources/linux-') && !p.includes('/build/')) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

/** Processes whose command line or working directory is inside `dir`. */
function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const cwd = (() => {
        try {
          return readlinkSync(`/proc/${pid}/cwd`);
        } catch {
          return '';
        }
      })();
      if (cmd.includes(dir) || cwd.startsWith(dir)) found.push(`${pid}: ${cmd.slice(0, 200)} (cwd ${cwd})`);
    } catch {
      /* gone */
    }
  }
  return found;
}

interface Point {
  name: string;
  signal: 'SIGTERM' | 'SIGINT';
  /** True once the build is where the signal must land. */
  reached: (s: { out: string; cache: string }) => Promise<boolean>;
  slow?: boolean;
  before?: () => Promise<void>;
}

const partBytes = async (dir: string, re: RegExp) => {
  const f = (await readdir(dir).catch(() => [] as string[])).find((n) => re.test(n) && n.endsWith('.part'));
  return f ? (await stat(join(dir, f))).size : 0;
};
const unpacking = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).some((n) => n.startsWith('.unpack.tmp-'));
const compiling = (cache: string) => processesIn(cache).some((p) => /\bcc1(plus)?\b/.test(p));

test('SIGTERM and SIGINT at points of a cold build leave no temporary path and no child process', { timeout: 40 * 60_000 }, async () => {
  const kernelTarball = mainCacheFile(/^linux-source-.*\.tar\.xz$/);
  const llamaTgz = mainCacheFile(/^node-llama-cpp-.*\.tgz$/);
  const srv = await serve({ '/linux.tar.xz': kernelTarball, [`/node-llama-cpp/-/${llamaTgz.split('/').pop()}`]: llamaTgz });
  const work = scratchDir('aios-interrupt-');
  const cache = join(work, 'cache');
  await mkdir(cache);
  // The compiles an earlier build made are shared, so that the runtime finishes in minutes and the kernel compile is reached.
  if (existsSync(join(MAIN_CACHE, 'ccache'))) await symlink(join(MAIN_CACHE, 'ccache'), join(cache, 'ccache'));
  const project = join(work, 'project');
  await mkdir(project);
  await writeFile(join(project, 'aios.json'), JSON.stringify({ runtime: { registry: srv.url }, formats: ['disk'] }));
  const sha = await sha256File(kernelTarball);
  const args = [
    'build',
    '--project',
    project,
    '--cache',
    cache,
    '--out',
    join(work, 'out'),
    '--kernel-source',
    `${srv.url}/linux.tar.xz`,
    '--kernel-sha256',
    sha,
  ];
  const points: Point[] = [
    { name: 'the kernel download', signal: 'SIGTERM', slow: true, reached: async () => (await partBytes(join(cache, 'downloads'), /^linux/)) > 0 },
    {
      name: 'the kernel download, resumed',
      signal: 'SIGINT',
      slow: true,
      reached: async () => (await partBytes(join(cache, 'downloads'), /^linux/)) > 2 ** 20,
    },
    { name: 'the kernel unpack', signal: 'SIGTERM', reached: () => unpacking(join(cache, 'sources')) },
    { name: 'the kernel unpack, again', signal: 'SIGINT', reached: () => unpacking(join(cache, 'sources')) },
    { name: 'make tinyconfig', signal: 'SIGTERM', reached: async ({ out }) => /make tinyconfig/.test(out) },
    { name: 'merge_config.sh', signal: 'SIGINT', reached: async ({ out }) => /merge_config\.sh/.test(out) },
    { name: "llama.cpp's npm download", signal: 'SIGTERM', slow: true, reached: async () => (await partBytes(join(cache, 'downloads'), /^node-llama/)) > 0 },
    { name: 'the llama.cpp unpack and clone', signal: 'SIGINT', reached: async ({ out }) => /unpacking package\/llama/.test(out) },
    { name: "llama.cpp's compile", signal: 'SIGTERM', reached: async ({ out, cache: c }) => /ninja -j/.test(out) && compiling(c) },
    { name: "llama.cpp's compile, again", signal: 'SIGINT', reached: async ({ out, cache: c }) => /ninja -j/.test(out) && compiling(c) },
    {
      name: 'the kernel compile',
      signal: 'SIGTERM',
      // The main cache's llama-server (the same key) stands in for a compile of minutes that the points above already cut.
      before: async () => {
        await rm(join(cache, 'steps', 'runtime'), { recursive: true, force: true });
        await symlink(join(MAIN_CACHE, 'steps', 'runtime'), join(cache, 'steps', 'runtime'));
      },
      reached: async ({ out, cache: c }) => /✔ Model/.test(out) && compiling(c),
    },
  ];
  const report: string[] = [];
  try {
    for (const p of points) {
      srv.setSlow(Boolean(p.slow));
      await p.before?.();
      const child = spawn(process.execPath, [join(ROOT, 'bin/aios.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      let done = false;
      void exited.then(() => (done = true));
      const t0 = Date.now();
      while (!done && !(await p.reached({ out, cache }))) await new Promise((r) => setTimeout(r, 100));
      assert.ok(!done, `${p.name}: the build ended before it got there:\n${out.slice(-3000)}`);
      child.kill(p.signal);
      const code = await exited;
      const left = await leftovers(work);
      // flock(1), which held the cache's lock, ends when aios's end of its pipe closes.
      let procs = processesIn(cache);
      for (let i = 0; i < 30 && procs.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        procs = processesIn(cache);
      }
      report.push(`${p.name}: ${p.signal} after ${((Date.now() - t0) / 1000).toFixed(1)} s, exit ${code}`);
      assert.equal(code, p.signal === 'SIGTERM' ? 143 : 130, `${p.name}: exit code\n${out.slice(-2000)}`);
      assert.deepEqual(left, [], `${p.name}: temporary paths left`);
      assert.deepEqual(procs, [], `${p.name}: processes left`);
    }
  } finally {
    srv.server.close();
    console.log(report.join('\n'));
  }
});
