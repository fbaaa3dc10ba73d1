import { chownSync, closeSync, existsSync, lstatSync, mkdir, mkdirSync, openSync, readFileSync, writeFile, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { ServiceInfo } from '../../common/boot-report.ts';
import type { InitConfig } from './config.ts';
import type { FsRoot } from './fsroot.ts';
import { spawnFailure, type Children, type Exit } from './children.ts';
import { logFile, ServiceLog } from './service-log.ts';
import { now } from './clock.ts';
import { capabilityMask } from '../../common/init-spec.ts';
import { cgroupFiles, enableControllers, enableIoCost } from './cgroups.ts';
import { parseGroup, parsePasswd, resolveServiceUser, type GroupEntry, type PasswdEntry, type ServiceIds } from '../../common/service-user.ts';

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

interface Running {
  spec: ServiceSpec;
  /** Resolves when the running process (info.pid) has been reaped. */
  exited?: Promise<void>;
  info: ServiceInfo;
  timer?: NodeJS.Timeout;
  startedAt?: number;
  quickFailures: number;
  /** Given each line of its output, across restarts. */
  onLine?: (line: string) => void;
}

/** Close descriptors aios-init no longer needs once the child has its own copies. */
function closeAll(fds: readonly (number | undefined)[]): void {
  for (const fd of fds)
    if (fd !== undefined && fd >= 0)
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
}

/** Starts services in their own cgroups and keeps them running by their restart policy. */
export class Supervisor {
  private services = new Map<string, Running>();
  private logs = new Map<string, ServiceLog>();
  /** Cgroups made, by service name, with the spec they were made for. */
  private made = new Map<string, { dir: string; spec: ServiceSpec }>();
  /** Until ready(): cgroups get each service's startupCpuWeight. */
  private startingUp = true;
  private parent: string | null | undefined;
  private ioOn = false;
  private stopping = false;
  constructor(
    private readonly fs: FsRoot,
    private readonly children: Children,
    private readonly log: (m: string) => void,
    private readonly console: (line: string) => void,
    private readonly ioCost: InitConfig['ioCost'] = [],
  ) {}

  private userDb?: { passwd: PasswdEntry[]; groups: GroupEntry[] };

  /** /etc/passwd and /etc/group, read once: they come from the read-only root. */
  private users(): { passwd: PasswdEntry[]; groups: GroupEntry[] } {
    if (this.userDb) return this.userDb;
    const read = (f: string) => {
      try {
        return readFileSync(this.fs.p(f), 'utf8');
      } catch {
        return '';
      }
    };
    return (this.userDb = { passwd: parsePasswd(read('/etc/passwd')), groups: parseGroup(read('/etc/group')) });
  }

  /**
   * /var/lib/<name>, the service's own writable directory (on the state partition), made if
   * missing and given to its user. A link or a file there is left alone: it was not made for it.
   */
  private stateDir(s: ServiceSpec, ids: ServiceIds): string | undefined {
    const dir = `/var/lib/${s.name}`;
    const path = this.fs.p(dir);
    try {
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st && !st.isDirectory()) throw new Error('not a directory');
      if (!st) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
        mkdirSync(path, { mode: 0o700 });
      }
      if (!ids.root && (st?.uid !== ids.uid || st.gid !== ids.gid)) chownSync(path, ids.uid, ids.gid);
      return dir;
    } catch (err) {
      this.log(`service ${s.name}: no state directory ${dir} (${(err as Error).message})`);
      return undefined;
    }
  }

  /** One log per service, kept across its restarts. */
  private serviceLog(s: ServiceSpec, r: Running): ServiceLog {
    let l = this.logs.get(s.name);
    if (!l) {
      l = new ServiceLog(s.name, {
        onLine: (line) => r.onLine?.(line),
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
    // Anything else there (no mount, a cgroup v1 tmpfs) would take mkdir, and a service started
    // into such a directory would fail (clone3 takes a cgroup2 directory only).
    if (!existsSync(`${root}/cgroup.controllers`)) {
      this.log(`no cgroups for services (no cgroup2 at ${root})`);
      return (this.parent = null);
    }
    try {
      mkdirSync(`${root}/aios`, { recursive: true });
      // A controller the kernel lacks is left out: the others still apply.
      enableControllers([root, `${root}/aios`], ['cpu', 'memory', 'cpuset']);
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
    if (made) return made.dir;
    const parent = this.cgroupParent();
    if (!parent) return null;
    try {
      const dir = `${parent}/${s.name}`;
      mkdirSync(dir, { recursive: true });
      for (const [f, v] of Object.entries(cgroupFiles(s, this.startingUp))) {
        try {
          writeFileSync(`${dir}/${f}`, v);
        } catch (err) {
          this.log(`service ${s.name}: ${f}=${v}: ${(err as Error).message}`);
        }
      }
      this.made.set(s.name, { dir, spec: s });
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
    if (specs.some((s) => s.ioWeight !== 100)) this.ioControl();
    const made = (s: ServiceSpec) =>
      new Promise<void>((resolve) => {
        const dir = `${parent}/${s.name}`;
        mkdir(dir, (err) => {
          if (err && err.code !== 'EEXIST') return resolve();
          const files = Object.entries(cgroupFiles(s, this.startingUp));
          let left = files.length;
          let ok = true;
          for (const [f, v] of files)
            writeFile(`${dir}/${f}`, v, (e) => {
              ok &&= !e;
              if (--left) return;
              if (ok) this.made.set(s.name, { dir, spec: s });
              // ready() came while the start-up weight was being written, and missed this cgroup.
              if (ok && !this.startingUp) this.runWeight(dir, s);
              resolve();
            });
        });
      });
    return Promise.all(specs.filter((s) => !this.made.has(s.name)).map(made)).then(() => {});
  }

  /**
   * io.weight needs the io controller and, to act on anything, iocost on the disks (off by
   * default in the kernel): turned on once, and only for an init.json that weighs some service, so
   * that others pay nothing for it in the boot.
   */
  private ioControl(): void {
    if (this.ioOn) return;
    this.ioOn = true;
    const root = this.fs.p('/sys/fs/cgroup');
    const refused = enableControllers([root, `${root}/aios`], ['io']);
    if (refused.length) return this.log(`io.weight: no io controller (${refused[0]})`);
    enableIoCost(this.fs, this.log, this.ioCost);
  }

  /** The machine is ready: every service's cgroup gets its cpuWeight in place of its start-up weight. */
  ready(): void {
    this.startingUp = false;
    for (const { dir, spec } of this.made.values()) this.runWeight(dir, spec);
  }

  private runWeight(dir: string, spec: ServiceSpec): void {
    if (spec.startupCpuWeight === spec.cpuWeight) return;
    try {
      writeFileSync(`${dir}/cpu.weight`, String(spec.cpuWeight));
    } catch (err) {
      this.log(`service ${spec.name}: cpu.weight=${spec.cpuWeight}: ${(err as Error).message}`);
    }
  }

  /** Start `spec` and keep it running; `onLine`, when given, sees each line it writes. */
  start(spec: ServiceSpec, onLine?: (line: string) => void): void {
    const r: Running = this.services.get(spec.name) ?? {
      spec,
      info: { name: spec.name, pid: null, state: 'stopped', restarts: 0, cgroup: null },
      quickFailures: 0,
    };
    if (onLine) r.onLine = onLine;
    this.services.set(spec.name, r);
    const ids = resolveServiceUser(spec.user, spec.group, this.users().passwd, this.users().groups);
    if ('error' in ids) {
      r.info.state = 'failed';
      r.info.reason = ids.error;
      return this.log(`service ${spec.name} failed: ${ids.error}; not restarted`);
    }
    const home = this.stateDir(spec, ids);
    const cg = this.cgroup(spec);
    r.info.cgroup = cg;
    // Opened here and closed right after the spawn: the child has its own copies then.
    let cgroupFd: number | undefined, tty: number | undefined, out: [number, number] | undefined;
    if (cg)
      try {
        cgroupFd = openSync(cg, 'r');
      } catch (err) {
        r.info.cgroup = null;
        this.log(`service ${spec.name}: cannot open its cgroup (${(err as Error).message}); it runs in aios-init's`);
      }
    let pid: number;
    let exited!: () => void;
    try {
      if (spec.tty) tty = openSync(spec.tty, 'r+');
      else out = this.children.pipe();
      const stdio = tty !== undefined ? ([tty, tty, tty] as const) : ([-1, out![1], out![1]] as const);
      r.exited = new Promise<void>((res) => (exited = res));
      pid = this.children.spawn(
        {
          command: spec.command,
          args: spec.args,
          env: {
            PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
            ...(ids.root ? {} : { USER: ids.name, LOGNAME: ids.name, ...(home && !spec.rootDirectory ? { HOME: home } : {}) }),
            ...spec.env,
          },
          stdio,
          cgroupFd,
          // Another user's service holds no capability but those it names: `all` gives it none.
          keepCaps: ids.root ? capabilityMask(spec.capabilities) : Math.max(0, capabilityMask(spec.capabilities)),
          nice: spec.nice,
          ...(ids.root ? {} : { user: ids }),
          rootDirectory: spec.rootDirectory,
          workingDirectory: spec.workingDirectory,
        },
        (e) => {
          this.ended(r, e);
          exited();
        },
      );
    } catch (err) {
      closeAll([out?.[0]]);
      r.info.state = 'failed';
      r.info.reason = spawnFailure(spec.command, err as NodeJS.ErrnoException);
      return this.log(`service ${spec.name} failed: ${r.info.reason}; not restarted`);
    } finally {
      closeAll([cgroupFd, tty, out?.[1]]);
    }
    if (out) {
      const log = this.serviceLog(spec, r);
      log.attach(new Socket({ fd: out[0], readable: true, writable: false }));
      r.info.log = logFile(spec.name);
    }
    r.startedAt = now();
    r.info.pid = pid;
    r.info.state = 'running';
    this.log(`service ${spec.name} started (pid ${pid})`);
  }

  /** The service's process has been reaped: say how it ended, and restart it by its policy. */
  private ended(r: Running, e: Exit): void {
    const spec = r.spec;
    r.info.pid = null;
    r.info.state = e.code === 0 ? 'exited' : 'failed';
    r.info.lastExit = e.signal ?? `exit ${e.code}`;
    this.log(`service ${spec.name} ended (${r.info.lastExit})`);
    if (!shouldRestart(spec.restart, e.code, this.stopping)) return;
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

  /** Signal the service's process while it is ours (never a pid the kernel has given to another). */
  private kill(r: Running, signal: NodeJS.Signals): void {
    const pid = r.info.pid;
    if (pid === null || !this.children.running(pid)) return;
    try {
      process.kill(pid, signal);
    } catch {
      /* it has just exited */
    }
  }

  startedAt(name: string): number | undefined {
    return this.services.get(name)?.startedAt;
  }

  /** Kill the service's process; its restart policy brings it back. */
  restart(name: string, why: string): void {
    const r = this.services.get(name);
    if (!r || r.info.pid === null) return;
    this.log(`service ${name}: restarting (${why})`);
    this.kill(r, 'SIGKILL');
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
      if (r.info.pid !== null && r.exited) {
        const exited = r.exited.then(() => true);
        this.kill(r, 'SIGTERM');
        // An interactive shell ignores SIGTERM; a hangup of its terminal is what ends it.
        if (r.spec.tty) this.kill(r, 'SIGHUP');
        const inTime = await Promise.race([exited, sleep(timeoutMs).then(() => false)]);
        if (!inTime) {
          this.log(`service ${r.spec.name} ignored SIGTERM for ${timeoutMs / 1000} s: killing its cgroup`);
          this.killCgroup(r);
          // Also the main process itself, in case it is not in its cgroup.
          this.kill(r, 'SIGKILL');
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
