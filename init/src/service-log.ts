import { closeSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** Where each service's output is kept, on the tmpfs /run. */
export const LOG_DIR = '/run/aios/log';
export const logFile = (name: string): string => `${LOG_DIR}/${name}.log`;
/** Longer lines are cut into pieces of this many characters, so no line grows without end in memory. */
export const MAX_LINE = 4096;

/** Splits a byte stream into lines (UTF-8 across chunk edges, `\r\n` or `\n`, long lines cut). */
export class LineSplitter {
  private decoder = new StringDecoder('utf8');
  private partial = '';
  constructor(private readonly maxLine = MAX_LINE) {}

  push(chunk: Buffer): string[] {
    this.partial += this.decoder.write(chunk);
    const lines = this.partial.split('\n');
    this.partial = lines.pop()!;
    const out: string[] = [];
    for (const l of lines) out.push(...this.cut(l.endsWith('\r') ? l.slice(0, -1) : l));
    while (this.partial.length >= this.maxLine) {
      out.push(this.partial.slice(0, this.maxLine));
      this.partial = this.partial.slice(this.maxLine);
    }
    return out;
  }

  /** What is left when the stream ends without a newline. */
  end(): string[] {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    return rest ? this.cut(rest) : [];
  }

  private cut(l: string): string[] {
    if (l.length <= this.maxLine) return [l];
    const out: string[] = [];
    for (let i = 0; i < l.length; i += this.maxLine) out.push(l.slice(i, i + this.maxLine));
    return out;
  }
}

/**
 * A log file that never holds more than `maxBytes`: when the next write would pass the cap the
 * file becomes `<path>.1` (the one before is dropped) and a new one starts, so a service keeps at
 * most twice the cap on the tmpfs, the newest lines always among them.
 */
export class CappedFile {
  private fd: number | undefined;
  private size = 0;
  constructor(
    readonly path: string,
    private readonly maxBytes: number,
  ) {}

  write(text: string): void {
    const bytes = Buffer.from(text);
    if (this.fd !== undefined && this.size + bytes.length > this.maxBytes) this.rotate();
    if (this.fd === undefined) this.open('w');
    // A single write larger than the cap keeps its tail: the newest bytes are the useful ones.
    const data = bytes.length > this.maxBytes ? bytes.subarray(bytes.length - this.maxBytes) : bytes;
    writeSync(this.fd!, data);
    this.size += data.length;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(flags: string): void {
    this.fd = openSync(this.path, flags, 0o640);
    this.size = 0;
  }

  private rotate(): void {
    this.close();
    renameSync(this.path, `${this.path}.1`);
  }
}

export interface ServiceLogOptions {
  /** The file as aios-init opens it (logFile(name) under its FsRoot). */
  path: string;
  maxBytes: number;
  /** Console lines a service may write per second; the rest go to its file only. */
  consoleLinesPerSecond: number;
  console: (line: string) => void;
  /** Sees every line, console limit or not: how aios-init hears what a service reports (a DHCP lease). */
  onLine?: (line: string) => void;
  now?: () => number;
}

/**
 * One service's output: each line to the console as `<name>: <line>` and to its capped file.
 * A service that floods is cut off the console for the rest of that second (the file keeps every
 * line), and the console is told how many lines it missed: a chatty service cannot hold PID 1
 * on a slow serial line.
 */
export class ServiceLog {
  private file: CappedFile | undefined;
  private windowStart = 0;
  private shown = 0;
  private hidden = 0;
  private fileError: string | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  constructor(
    readonly name: string,
    private readonly o: ServiceLogOptions,
  ) {}

  get path(): string {
    return this.o.path;
  }

  /** Read a child's stdout or stderr until it closes. */
  attach(stream: Readable | null | undefined): void {
    if (!stream) return;
    const split = new LineSplitter();
    stream.on('data', (d: Buffer) => this.lines(split.push(d)));
    stream.on('end', () => this.lines(split.end()));
    stream.on('error', () => {});
  }

  lines(lines: readonly string[]): void {
    if (!lines.length) return;
    this.toFile(lines);
    if (this.o.onLine) for (const l of lines) this.o.onLine(l);
    const now = (this.o.now ?? Date.now)();
    if (now - this.windowStart >= 1000) {
      this.flushHidden();
      this.windowStart = now;
      this.shown = 0;
    }
    for (const l of lines) {
      if (this.shown < this.o.consoleLinesPerSecond) {
        this.shown++;
        this.o.console(`${this.name}: ${l}`);
      } else this.hidden++;
    }
    // A flood that stops still gets its count said, a second later.
    if (this.hidden && !this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flushHidden();
      }, 1000);
      this.flushTimer.unref();
    }
  }

  /** Say how many lines the console missed; called when a second has passed and at the end. */
  flushHidden(): void {
    if (!this.hidden) return;
    this.o.console(`${this.name}: (${this.hidden} more line(s) in ${this.path} only: over ${this.o.consoleLinesPerSecond} per second)`);
    this.hidden = 0;
  }

  /** Flush the count and let go of the file (so that /run can be unmounted); later lines reach the console only. */
  close(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushHidden();
    this.file?.close();
    this.file = undefined;
    this.fileError = 'closed';
  }

  private toFile(lines: readonly string[]): void {
    if (this.fileError) return;
    try {
      if (!this.file) {
        mkdirSync(dirname(this.o.path), { recursive: true, mode: 0o750 });
        this.file = new CappedFile(this.path, this.o.maxBytes);
      }
      this.file.write(`${lines.join('\n')}\n`);
    } catch (err) {
      // The console still gets every line; say once why the file does not.
      this.fileError = (err as Error).message;
      this.o.console(`${this.name}: (no log file: ${this.fileError})`);
    }
  }
}
