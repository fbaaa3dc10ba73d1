import { appendFileSync } from 'node:fs';
import { execa, type Options } from 'execa';
import { killOnExit } from './cleanup.ts';

/** A failed external command: the quoted command line, how it ended, and the end of its stderr. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly signal: string | undefined,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode ?? '?'}`;
    super(`command failed: ${command}\n  ${how}${stderrTail ? `\n  last lines of its output:\n${indent(stderrTail)}` : ''}`, options);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  /** Append combined output to this file (long steps such as make keep a full log). */
  logFile?: string;
  input?: string | Buffer;
  /** Exit codes that are not failures (grep's 1, say). */
  okCodes?: number[];
  stdoutFile?: string;
  /** Called with each line the command prints (progress of long steps). */
  onLine?: (line: string) => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function quoteCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map(quoteArg).join(' ');
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * `AIOS_TRACE=FILE`: every command aios runs and every URL it fetches, one line each, appended to
 * FILE (as make V=1 shows its commands): what a build really did, for a person or a test.
 */
export function trace(what: string): void {
  const file = process.env.AIOS_TRACE;
  if (file) appendFileSync(file, `${new Date().toISOString()} ${what}\n`);
}

/** Every external command of aiOS goes through here, so every failure reads the same way. */
export async function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  trace(`run ${quoteCommand(file, args)}`);
  const options: Options = {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: true,
    reject: false,
    stripFinalNewline: false,
    input: opts.input,
    all: true,
    maxBuffer: 256 * 1024 * 1024,
  };
  if (opts.logFile) Object.assign(options, { stdout: ['pipe', { file: opts.logFile, append: true }], stderr: ['pipe', { file: opts.logFile, append: true }] });
  if (opts.stdoutFile) Object.assign(options, { stdout: { file: opts.stdoutFile } });
  let result;
  try {
    // A process group of its own, so that an interrupted aios kills the whole of it (make and
    // its compilers, tar and its xz) and waits for it before removing the tree it wrote into.
    const sub = execa(file, args, { ...options, detached: true });
    killOnExit(sub, { group: true });
    if (opts.onLine) {
      let rest = '';
      const feed = (chunk: Buffer) => {
        const parts = (rest + chunk.toString()).split('\n');
        rest = parts.pop() ?? '';
        for (const p of parts) opts.onLine?.(p);
      };
      sub.stdout?.on('data', feed);
      sub.stderr?.on('data', feed);
    }
    result = await sub;
  } catch (err) {
    throw new CommandError(quoteCommand(file, args), undefined, undefined, String(err), { cause: err });
  }
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  const code = result.exitCode;
  if (result.failed && !(code !== undefined && opts.okCodes?.includes(code))) {
    if (result.cause && (result.cause as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CommandError(
        quoteCommand(file, args),
        undefined,
        undefined,
        `${file}: not found on PATH (run \`aios doctor\` for the package that provides it)`,
        { cause: result.cause },
      );
    }
    const out = typeof result.all === 'string' ? result.all : stderr || stdout;
    throw new CommandError(quoteCommand(file, args), code, result.signal, tail(out), { cause: result.cause });
  }
  return { stdout, stderr, exitCode: code ?? 0 };
}
