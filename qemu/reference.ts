import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, posix } from 'node:path';
import { killOnExit } from '../common/cleanup.ts';
import { run } from '../common/exec.ts';
import { tempDir } from '../common/leftovers.ts';
import type { InitConfig } from '../common/init-spec.ts';
import { askCompletion, waitForHealth, type InferenceProbe } from './inference.ts';
import { partitionsOf } from './disk-check.ts';
import { isoRootExtent, PARTITION_OFFSET } from './image-facts.ts';

/**
 * Check 11's expected answer, derived on the host: the image's own llama-server and model, copied
 * out of the image, asked the same prompt with the same greedy sampling. The guest's answer must
 * be the same tokens with the same probabilities; a server that answers a fixed sentence cannot
 * know the distribution the model gives a prompt made up at check time.
 */

/** The inference service's program and model in the image, from its init.json. */
export interface ServedFiles {
  server: string;
  model: string;
  args: string[];
}

export function servedFiles(config: InitConfig): ServedFiles | { error: string } {
  if (!config.inference.service) return { error: "the image's init.json names no inference service" };
  const svc = config.services.find((s) => s.name === config.inference.service);
  if (!svc) return { error: `the image's init.json has no service "${config.inference.service}"` };
  const i = svc.args.indexOf('--model');
  const model = i >= 0 ? svc.args[i + 1] : undefined;
  if (!model || !model.startsWith('/')) return { error: `the image's inference service has no absolute --model (${svc.command} ${svc.args.join(' ')})` };
  // Both become paths below the host's scratch copy and words of a debugfs request: a `..`, a
  // space or a quote from the image's init.json must never reach either.
  for (const [what, p] of [
    ['command', svc.command],
    ['--model', model],
  ] as const)
    if (!PLAIN_PATH.test(p) || p.split('/').some((c) => c === '..' || c === '.'))
      return {
        error: `the image's inference service ${what} ${JSON.stringify(p)} is not a plain absolute path (letters, digits, . _ + - and /, no . or .. parts)`,
      };
  return { server: svc.command, model, args: svc.args };
}

const PLAIN_PATH = /^\/[A-Za-z0-9._+\/-]+$/;

/**
 * The image's server arguments for a run on the host: its model copied out, a unix socket instead
 * of an address and port (the run has no network), everything else as the image runs it.
 */
export function referenceArgs(args: readonly string[], model: string, socket: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--model' || a === '-m') (out.push(a, model), i++);
    else if (a === '--host') (out.push(a, socket), i++);
    else if (a === '--port') i++;
    else out.push(a);
  }
  if (!out.includes('--host')) out.push('--host', socket);
  return out;
}

/**
 * The image's program is the image's, not ours: it runs with no network (a namespace of its own,
 * reached through the socket) and, when aios runs as root, as nobody with no capabilities.
 */
export function sandboxed(argv: readonly string[], root: boolean): string[] {
  return root
    ? ['unshare', '--net', '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--', ...argv]
    : ['unshare', '--map-root-user', '--net', '--', ...argv];
}

/**
 * The reference server's environment. GPUs hidden from it: the guest it is compared with has none
 * (QEMU), and a CUDA image's server on a host with a GPU would offload there and answer with other
 * probabilities than the guest's CPU gives.
 */
export function referenceEnv(apiKey: string): Record<string, string> {
  return { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LLAMA_API_KEY: apiKey, CUDA_VISIBLE_DEVICES: '', GGML_VK_VISIBLE_DEVICES: '' };
}

/** Where a file of the image lies: the root, or /var (the disk's state partition). */
export interface ImageSource {
  kind: 'disk' | 'iso';
  file: string;
}

/** Copy the image's directory `dir` and file `file` into `dest` (same paths below it), without mounting anything. */
export async function extractFromImage(src: ImageSource, paths: { dir: string; file: string }, dest: string): Promise<void> {
  if (src.kind === 'iso') {
    const { offset } = await isoRootExtent(src.file);
    await run('unsquashfs', ['-o', String(offset), '-q', '-n', '-f', '-d', dest, src.file, paths.dir.slice(1), paths.file.slice(1)]).then(failIf('unsquashfs'));
    return;
  }
  const parts = await partitionsOf(src.file);
  const onState = paths.file.startsWith('/var/') && parts.length >= 2;
  await mkdir(join(dest, dirname(paths.dir)), { recursive: true });
  await mkdir(join(dest, dirname(paths.file)), { recursive: true });
  await debugfs(src.file, PARTITION_OFFSET, `rdump ${paths.dir} ${join(dest, dirname(paths.dir))}`);
  const offset = onState ? parts[1]!.start : PARTITION_OFFSET;
  const inFs = onState ? paths.file.slice('/var'.length) : paths.file;
  await debugfs(src.file, offset, `dump ${inFs} ${join(dest, paths.file)}`);
}

const failIf =
  (what: string) =>
  (r: { exitCode: number; stderr: string }): void => {
    if (r.exitCode !== 0) throw new Error(`${what}: ${r.stderr.trim().split('\n').slice(-2).join('; ')}`);
  };

async function debugfs(disk: string, offset: number, request: string): Promise<void> {
  const r = await run('/sbin/debugfs', ['-R', request, `${disk}?offset=${offset}`]);
  // debugfs exits 0 whatever happened to the request: its complaints are on stderr.
  const complaint = r.stderr
    .split('\n')
    .filter((l) => l.trim() && !/^debugfs \d/.test(l))
    .join('; ');
  if (r.exitCode !== 0 || complaint) throw new Error(`debugfs -R "${request}" ${disk}: ${complaint || `exit ${r.exitCode}`}`);
}

export interface ReferenceRequest {
  source: ImageSource;
  served: ServedFiles;
  prompt: string;
  maxTokens: number;
}

/**
 * How long the host's copy of the image's server may take to answer /health: a native load of its
 * model (mapped, then a warm-up), so a few seconds plus a little per GiB. A fixed minute made every
 * check of an image whose "llama-server" never opens the socket (a stand-in, a wrong build) wait
 * the whole minute before its boot.
 */
export function referenceReadySeconds(modelBytes: number): number {
  return Math.ceil(15 + 5 * (modelBytes / 2 ** 30));
}

/** The reference answer, or why there is none; never throws, leaves no process or file behind. */
export async function referenceAnswer(req: ReferenceRequest): Promise<InferenceProbe> {
  const scratch = await tempDir('reference');
  let child: ReturnType<typeof spawn> | undefined;
  let log = '';
  try {
    const tree = join(scratch.path, 'tree');
    const dir = posix.dirname(req.served.server);
    await extractFromImage(req.source, { dir, file: req.served.model }, tree);
    // nobody must read the copy (its owners and modes are the image's) and make its socket here.
    await run('chmod', ['-R', 'a+rX', tree]).then(failIf('chmod'));
    await chmod(scratch.path, 0o755);
    const sockDir = join(scratch.path, 'sock');
    await mkdir(sockDir, { mode: 0o777 });
    await chmod(sockDir, 0o777);
    const socket = join(sockDir, 'llama.sock');
    const apiKey = randomBytes(16).toString('hex');
    const argv = sandboxed([join(tree, req.served.server), ...referenceArgs(req.served.args, join(tree, req.served.model), socket)], process.getuid?.() === 0);
    child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: referenceEnv(apiKey),
      detached: true,
    });
    killOnExit(child, { group: true });
    const keep = (d: Buffer) => (log = (log + d.toString()).slice(-4000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<string>((r) => child!.once('exit', (code, sig) => r(`exited (${sig ?? code}) before it answered`)));
    const readyTimeoutSec = referenceReadySeconds((await stat(join(tree, req.served.model))).size);
    const t = { socketPath: socket, prompt: req.prompt, apiKey, maxTokens: req.maxTokens, readyTimeoutSec };
    const health = await Promise.race([waitForHealth(t, performance.now()), exited.then((why) => ({ error: why }))]);
    const answer = await askCompletion(t, health);
    if (answer.error)
      return {
        error: `${basename(req.served.server)} on the host ${answer.error}${log ? `; its log ends: ${log.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
      };
    // llama-server names its model by the path it was given: the copy's path is the image's path below the copy.
    return answer.model?.startsWith(tree) ? { ...answer, model: answer.model.slice(tree.length) } : answer;
  } catch (err) {
    return { error: (err as Error).message };
  } finally {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      process.kill(-child.pid, 'SIGKILL');
      await gone;
    }
    await scratch.release();
  }
}
