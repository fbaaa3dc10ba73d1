import { closeSync, mkdir, mkdirSync, openSync, writeFile, writeFileSync } from 'node:fs';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { ServiceInfo } from '../../common/boot-report.ts';
import type { InitConfig } from './config.ts';
import type { FsRoot } from './fsroot.ts';
import { spawnTracked } from './children.ts';
import { logFile, ServiceLog } from './service-log.ts';
import { now } from './clock.ts';

type ServiceSpec = InitConfig['services'][number];

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Restart delay after `restarts` restarts: 0.5 s doubling up to 30 s. */
export function backoffMs(restarts: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, restarts));
}

/**
 * After a run ends: a run that lasted `stableSeconds` starts the back-off over; `maxQuickFailures`
 * short runs in a row give up on the service, with the reason.
 */
export function afterRun(
  quickFailures: number,
  runMs: number,
  s: Pick<ServiceSpec, 'stableSeconds' | 'maxQuickFailures'>,
): { quickFailures: number; giveUp?: string } {
  if (runMs >= s.stableSeconds * 1000) return { quickFailures: 0 };
  const n = quickFailures + 1;
  return n >= s.maxQuickFailures ? { quickFailures: n, giveUp: `ended ${n} times in a row within ${s.stableSeconds} s of starting` } : { quickFailures: n };
}

export function shouldRestart(policy: ServiceSpec['restart'], code: number | null, stopping: boolean): boolean {
  if (stopping) return false;
  if (policy === 'always') return true;
  if (policy === 'on-failure') return code !== 0;
  return false;
}

/** The cgroup v2 files a service's limits become. */
export function cgroupFiles(s: ServiceSpec): Record<string, string> {
  const files: Record<string, string> = { 'cpu.weight': String(s.cpuWeight), 'memory.max': s.memoryMax || 'max' };
  if (s.cpuset) files['cpuset.cpus'] = s.cpuset;
  return files;
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess | null;
  info: ServiceInfo;
  timer?: NodeJS.Timeout;
  startedAt?: number;
  quickFailures: number;
}

/** A terminal as a service's stdin, stdout and stderr (one descriptor, closed in aios-init after the spawn). */
function openTty(path: string): StdioOptions {
  const fd = openSync(path, 'r+');
  return [fd, fd, fd];
}

/** The wrapper shell's exit codes for a command it cannot run: no restart can mend those. */
export function unrunnable(code: number | null, command: string): string | undefined {
  if (code === 127) return `${command}: not found (exit 127)`;
  if (code === 126) return `${command}: not executable (exit 126)`;
  return undefined;
}

/** Starts services in their own cgroups and keeps them running by their restart policy. */
export class Supervisor {
  private services = new Map<string, Running>();
  private logs = new Map<string, ServiceLog>();
  /** Cgroups made, by service name. */
  private made = new Map<string, string>();
  private parent: string | null | undefined;
  private stopping = false;
  constructor(
    private readonly fs: FsRoot,
    private readonly log: (m: string) => void,
    private readonly console: (line: string) => void,
  ) {}

  /** One log per service, kept across its restarts. */
  private serviceLog(s: ServiceSpec): ServiceLog {
    let l = this.logs.get(s.name);
    if (!l) {
      l = new ServiceLog(s.name, {
        path: this.fs.p(logFile(s.name)),
        maxBytes: s.logMaxKB * 1024,
        consoleLinesPerSecond: s.consoleLinesPerSecond,
        console: this.console,
      });
      this.logs.set(s.name, l);
    }
    return l;
  }

  /** /sys/fs/cgroup/aios with its controllers on, once; null when cgroups are not usable. */
  private cgroupParent(): string | null {
    if (this.parent !== undefined) return this.parent;
    const root = this.fs.p('/sys/fs/cgroup');
    try {
      for (const dir of [root, `${root}/aios`]) {
        mkdirSync(dir, { recursive: true });
        for (const c of ['+cpu', '+memory', '+cpuset']) {
          try {
            writeFileSync(`${dir}/cgroup.subtree_control`, c);
          } catch {
            /* a controller the kernel lacks: the others still apply */
          }
        }
      }
      this.parent = `${root}/aios`;
    } catch (err) {
      this.log(`no cgroups for services (${(err as Error).message})`);
      this.parent = null;
    }
    return this.parent;
  }

  /** Create /sys/fs/cgroup/aios/<name> with the limits; null when cgroups are not usable. */
  private cgroup(s: ServiceSpec): string | null {
    const made = this.made.get(s.name);
    if (made) return made;
    const parent = this.cgroupParent();
    if (!parent) return null;
    try {
      const dir = `${parent}/${s.name}`;
      mkdirSync(dir, { recursive: true });
      for (const [f, v] of Object.entries(cgroupFiles(s))) {
        try {
          writeFileSync(`${dir}/${f}`, v);
        } catch (err) {
          this.log(`service ${s.name}: ${f}=${v}: ${(err as Error).message}`);
        }
      }
      this.made.set(s.name, dir);
      return dir;
    } catch (err) {
      this.log(`service ${s.name}: no cgroup (${(err as Error).message})`);
      return null;
    }
  }

  /**
   * Make the cgroups of services that start later on the thread pool, which runs beside PID 1's
   * own work (a memory cgroup's mkdir takes some 35 ms under TCG). Resolves when all are made;
   * start() makes any that failed here itself, and says why.
   */
  prepare(specs: readonly ServiceSpec[]): Promise<void> {
    const parent = this.cgroupParent();
    if (!parent) return Promise.resolve();
    const made = (s: ServiceSpec) =>
      new Promise<void>((resolve) => {
        const dir = `${parent}/${s.name}`;
        mkdir(dir, (err) => {
          if (err && err.code !== 'EEXIST') return resolve();
          const files = Object.entries(cgroupFiles(s));
          let left = files.length;
          let ok = true;
          for (const [f, v] of files)
            writeFile(`${dir}/${f}`, v, (e) => {
              ok &&= !e;
              if (--left) return;
              if (ok) this.made.set(s.name, dir);
              resolve();
            });
        });
      });
    return Promise.all(specs.filter((s) => !this.made.has(s.name)).map(made)).then(() => {});
  }

  start(spec: ServiceSpec): void {
    const r: Running = this.services.get(spec.name) ?? {
      spec,
      child: null,
      info: { name: spec.name, pid: null, state: 'stopped', restarts: 0, cgroup: null },
      quickFailures: 0,
    };
    this.services.set(spec.name, r);
    const cg = this.cgroup(spec);
    r.info.cgroup = cg;
    // Enter the cgroup before exec, so that not even the first instruction runs outside it.
    const [cmd, args] = cg ? ['/bin/sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg, spec.command, ...spec.args]] : [spec.command, spec.args];
    let child: ChildProcess;
    try {
      const stdio: StdioOptions = spec.tty ? openTty(spec.tty) : ['ignore', 'pipe', 'pipe'];
      try {
        child = spawnTracked(cmd, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...spec.env }, stdio });
      } finally {
        if (Array.isArray(stdio) && typeof stdio[0] === 'number') closeSync(stdio[0]);
      }
    } catch (err) {
      r.info.state = 'failed';
      return this.log(`service ${spec.name}: cannot start: ${(err as Error).message}`);
    }
    if (!spec.tty) {
      const out = this.serviceLog(spec);
      out.attach(child.stdout);
      out.attach(child.stderr);
      r.info.log = logFile(spec.name);
    }
    r.child = child;
    r.startedAt = now();
    r.info.pid = child.pid ?? null;
    r.info.state = 'running';
    this.log(`service ${spec.name} started (pid ${child.pid})`);
    child.on('error', (err) => {
      r.info.state = 'failed';
      r.info.reason = err.message;
      this.log(`service ${spec.name}: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      r.child = null;
      r.info.pid = null;
      r.info.state = code === 0 ? 'exited' : 'failed';
      r.info.lastExit = signal ?? `exit ${code}`;
      this.log(`service ${spec.name} ended (${r.info.lastExit})`);
      const cannot = unrunnable(code, spec.command);
      if (cannot) {
        r.info.reason = cannot;
        return this.log(`service ${spec.name} failed: ${cannot}; not restarted`);
      }
      if (shouldRestart(spec.restart, code, this.stopping)) {
        const after = afterRun(r.quickFailures, now() - (r.startedAt ?? 0), spec);
        if (after.quickFailures === 0) r.info.restarts = 0; // a stable run: the back-off starts over
        r.quickFailures = after.quickFailures;
        if (after.giveUp) {
          r.info.state = 'failed';
          r.info.reason = `${after.giveUp} (last ${r.info.lastExit})`;
          return this.log(`service ${spec.name} failed: ${r.info.reason}; left alone`);
        }
        const delay = backoffMs(r.info.restarts);
        r.info.state = 'backoff';
        r.timer = setTimeout(() => {
          r.info.restarts++;
          this.start(spec);
        }, delay);
      }
    });
  }

  startedAt(name: string): number | undefined {
    return this.services.get(name)?.startedAt;
  }

  /** Kill the service's process; its restart policy brings it back. */
  restart(name: string, why: string): void {
    const r = this.services.get(name);
    if (!r?.child) return;
    this.log(`service ${name}: restarting (${why})`);
    r.child.kill('SIGKILL');
  }

  info(): ServiceInfo[] {
    return [...this.services.values()].map((r) => ({ ...r.info }));
  }

  /**
   * Stop services in reverse start order: SIGTERM (and SIGHUP to one on a terminal), and after the
   * timeout the whole cgroup is killed (cgroup.kill), so that nothing a service forked outlives it;
   * then its cgroup is emptied the same way even when the main process went quietly.
   */
  async stopAll(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const r of this.services.values()) clearTimeout(r.timer);
    for (const r of [...this.services.values()].reverse()) {
      const child = r.child;
      if (child) {
        const exited = new Promise<boolean>((res) => child.once('exit', () => res(true)));
        child.kill('SIGTERM');
        // An interactive shell ignores SIGTERM; a hangup of its terminal is what ends it.
        if (r.spec.tty) child.kill('SIGHUP');
        const inTime = await Promise.race([exited, sleep(timeoutMs).then(() => false)]);
        if (!inTime) {
          this.log(`service ${r.spec.name} ignored SIGTERM for ${timeoutMs / 1000} s: killing its cgroup`);
          this.killCgroup(r);
          // Also the main process itself, in case it never got into its cgroup.
          child.kill('SIGKILL');
          await Promise.race([exited, sleep(1000)]);
        }
      }
      this.killCgroup(r);
      r.info.state = 'stopped';
    }
    for (const l of this.logs.values()) l.close();
  }

  /** cgroup.kill (Linux 5.14): SIGKILL to every process in the service's cgroup at once. */
  private killCgroup(r: Running): boolean {
    if (!r.info.cgroup) return false;
    try {
      writeFileSync(`${r.info.cgroup}/cgroup.kill`, '1');
      return true;
    } catch {
      return false;
    }
  }
}
