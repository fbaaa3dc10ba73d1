// The boot itself: every step from the first mount to the services and the inference watch,
// each timed into the report; no exception ends it (a failed step is recorded and the boot goes on).
import { constants, existsSync, openSync, readFileSync } from 'node:fs';
import type { BootReport, ModuleStrategy, WatchdogInfo } from '../../common/boot-report.ts';
import { formatErrors } from '../../common/schema.ts';
import { loadInitConfig, type InitConfig } from './config.ts';
import { FsRoot } from './fsroot.ts';
import { Log } from './log.ts';
import { mountFstab, mountPseudo } from './mounts.ts';
import { setupModules } from './drivers.ts';
import { startNetwork } from './network.ts';
import { watchPowerButton } from './power.ts';
import { Supervisor } from './services.ts';
import { InferenceWatch } from './inference.ts';
import { PressureWatch } from './pressure.ts';
import { Children } from './children.ts';
import { loadAddon, unavailableSys, type Sys } from './sys.ts';
import { PowerRequests } from './signals.ts';
import { consoleTty, SHELL_FLAG, shellFlag, shellService } from './shell.ts';
import { CHECK_CHANNEL, probeNonce, probeService } from './probe.ts';
import { PROBE_FW_CFG } from '../../common/probe.ts';
import { Watchdog } from './watchdog.ts';
import { now } from './clock.ts';
import { readSlots, type AbState } from './fleet.ts';

const CONFIG_PATH = '/etc/aios/init.json';

/** Run `fn` as a step of the boot: timed into the report, logged, and never thrown out of. */
export type Step = <T>(name: string, fn: () => T | Promise<T>) => Promise<T | undefined>;

/** What the boot leaves running and knows, for the report and the shutdown. */
export interface Booted {
  log: Log;
  fs: FsRoot;
  sys: Sys;
  addon: BootReport['addon'];
  steps: BootReport['steps'];
  step: Step;
  power: PowerRequests;
  config: InitConfig;
  configErrors: ReturnType<typeof loadInitConfig>['errors'];
  fstab: string;
  watchdog: WatchdogInfo;
  supervisor: Supervisor;
  shell: NonNullable<BootReport['shell']>;
  strategy: ModuleStrategy;
  gpus: NonNullable<Awaited<ReturnType<typeof setupModules>>>['gpus'];
  inference?: InferenceWatch;
  pressure: PressureWatch;
  /** aios check's channel (ttyS1), open for the boot report: only in a boot the check started. */
  checkChannel?: number;
  children: Children;
  /** The A/B slots, read beside the boot (undefined when this boot is not from a slot). */
  slots: Promise<AbState | undefined>;
}

/** aios-init's boot, up to the moment the machine is ready. */
export async function boot(): Promise<Booted> {
  const log = new Log();
  const fs = new FsRoot('/');
  const steps: BootReport['steps'] = [];
  /** Put a step that began at `t0` into the report; its duration in ms. */
  const record = (name: string, t0: number, ok: boolean, detail?: string): number => {
    const ms = Math.round(now() - t0);
    steps.push({ name, ms, ok, ...(detail ? { detail } : {}) });
    return ms;
  };
  const step = async <T>(name: string, fn: () => T | Promise<T>): Promise<T | undefined> => {
    const t0 = now();
    try {
      const v = await fn();
      log.info(`${name} (${record(name, t0, true)} ms)`);
      return v;
    } catch (err) {
      const ms = record(name, t0, false, (err as Error).message);
      log.warn(`${name} failed after ${ms} ms: ${(err as Error).message}`);
      return undefined;
    }
  };

  // Signals first: a power request during a slow step is kept, never lost or misread.
  const power = new PowerRequests();
  power.listen();
  process.on('uncaughtException', (err) => log.warn(`uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => log.warn(`unhandled rejection: ${String(err)}`));
  // Node 24 and later name their main thread ("MainThread"), and /proc/1/comm says that instead of
  // the executable's name; tools that find init by name (pidof, ps, the check's probe) expect ours.
  process.title = 'aios-init';
  log.info(`starting as pid ${process.pid}`);

  let sys: Sys;
  let addon: BootReport['addon'] = { loaded: true };
  const addonAt = now();
  try {
    sys = await loadAddon();
    record('system-call addon', addonAt, true);
  } catch (err) {
    addon = { loaded: false, error: (err as Error).message };
    log.warn(`system-call addon not loaded: ${addon.error}; the machine stays up without mounts, modules and network set by aios-init`);
    sys = unavailableSys(addon.error!);
  }

  // Every child is reaped from here on, a service's exit going to the supervisor and an orphan's nowhere.
  const children = new Children(sys, (m) => log.warn(m));
  children.listen(5000);

  try {
    sys.reboot('cad-off');
  } catch (err) {
    log.warn(`Ctrl-Alt-Del stays with the kernel: ${(err as Error).message}`);
  }
  await step('mount pseudo filesystems', () => {
    const r = mountPseudo(sys, fs, (m) => log.warn(m));
    return r;
  });
  const buttons = watchPowerButton(
    fs,
    () => power.request('poweroff', 'power button'),
    (m) => log.warn(m),
  );
  log.info(buttons.length ? `watching power button ${buttons.join(', ')}` : 'no power button found (ACPI_BUTTON, INPUT_EVDEV)');
  const fstab = existsSync('/etc/fstab') ? readFileSync('/etc/fstab', 'utf8') : '';
  await step('mount /etc/fstab', () => mountFstab(sys, fs, fstab, (m) => log.warn(m)));

  const configAt = now();
  const { config, errors } = loadInitConfig(CONFIG_PATH);
  record('read init.json', configAt, !errors.length, errors.length ? `${errors.length} key(s) rejected; defaults used` : undefined);
  if (errors.length) log.warn(`${CONFIG_PATH}: defaults used for:\n${formatErrors(errors)}`);
  await step('hostname', () => sys.sethostname(config.hostname));
  const cmdline = readFileSync(fs.p('/proc/cmdline'), 'utf8');
  // mtools on the EFI partition while the boot goes on: the report waits for it only at the end.
  const slots = readSlots(fs, children, cmdline, config.update.url);
  // Armed before the slow steps when a built-in driver made the device (iTCO, SP5100 TCO,
  // i6300esb), so that a hang in them is reset too; one whose driver is a module (a BMC's, from
  // modules.extra) is armed after the modules step.
  const watchdog = new Watchdog(sys, fs, (m) => log.warn(m));
  const armWatchdog = (): WatchdogInfo => {
    const d = watchdog.arm(config.watchdog.device, config.watchdog.timeoutSeconds);
    if (d.armed) log.info(`watchdog: ${d.identity} (${d.device}) armed, ${d.timeoutSeconds} s, kept alive every ${d.keepAliveMs} ms`);
    else if (d.detail !== 'not present') log.warn(`watchdog: ${d.device}: ${d.detail}`);
    return d;
  };
  let dog = armWatchdog();

  const supervisor = new Supervisor(
    fs,
    children,
    (m) => log.info(m),
    (line) => log.raw(line),
    config.ioCost,
  );
  const shell = consoleShell(fs, config, cmdline);
  if (shell.tty && config.services.some((s) => s.name === 'shell'))
    log.warn('console shell: init.json already has a service named "shell"; that one runs instead');
  else if (shell.tty) config.services.push(shellService(shell.tty));
  log.info(`console shell: ${shell.on ? `on ${shell.tty ?? 'no terminal'}` : 'off'} (${shell.why})`);
  const nonce = probeNonce(fs);
  const checkChannel = nonce ? openCheckChannel(fs, log) : undefined;
  if (nonce) {
    config.services.push(probeService(nonce, checkChannel === undefined ? '/dev/console' : CHECK_CHANNEL));
    log.info(`check probe: on (fw_cfg ${PROBE_FW_CFG}), its lines and the boot report on ${checkChannel === undefined ? 'the console' : CHECK_CHANNEL}`);
  }
  // DHCP on the interfaces there now runs while the modules load; those that come with a module
  // start after it. The leases are awaited before the services start.
  const handled = new Set<string>();
  const network = () =>
    startNetwork(
      sys,
      fs,
      config.network,
      (s, onLine) => supervisor.start(s, onLine),
      (m) => log.warn(m),
      handled,
    );
  const leases = (await step('network start', network)) ?? [];
  // After DHCP's own cgroup: cgroup creation is serialised in the kernel, and udhcpc goes first.
  const cgroupsMade = supervisor.prepare(config.services);
  const strategy = await step('modules', () => setupModules(sys, fs, config, log));
  const gpus = strategy?.gpus ?? [];
  if (dog.detail === 'not present') dog = armWatchdog();
  // Services start beside DHCP, which then runs on the other CPU; those that need an address wait.
  const [early, late] = [config.services.filter((s) => !s.waitForNetwork), config.services.filter((s) => s.waitForNetwork)];
  await step('services', async () => {
    await cgroupsMade;
    early.forEach((s) => supervisor.start(s));
  });
  await step('network', async () => {
    const notes = (await Promise.all([...leases, ...network()])).flat();
    if (notes.length) log.info(`network: ${notes.join(', ')}`);
  });
  if (late.length) await step('services after the network', () => late.forEach((s) => supervisor.start(s)));
  const inference = config.inference.service ? watchInference(config, supervisor, log) : undefined;
  const pressure = new PressureWatch(sys, fs, (m) => log.info(m));
  if (config.pressure.stallUs) {
    const groups = [
      { group: 'system', file: '/proc/pressure/memory' },
      ...(inference ? [{ group: `service ${config.inference.service}`, file: `/sys/fs/cgroup/aios/${config.inference.service}/memory.pressure` }] : []),
    ];
    await step('pressure triggers', () => pressure.register(groups, config.pressure.stallUs, config.pressure.windowUs));
  }

  return {
    log,
    fs,
    sys,
    addon,
    steps,
    step,
    power,
    config,
    configErrors: errors,
    fstab,
    watchdog: dog,
    supervisor,
    shell,
    strategy: strategy?.strategy ?? emptyStrategy(config),
    gpus,
    inference,
    pressure,
    checkChannel,
    children,
    slots,
  };
}

/**
 * The port aios check reads the boot report and the probe from: a serial port only root may open
 * (devtmpfs makes it 0600), which no service's output reaches. Without it the check finds no
 * report there, and says so.
 */
function openCheckChannel(fs: FsRoot, log: Log): number | undefined {
  try {
    return openSync(fs.p(CHECK_CHANNEL), constants.O_WRONLY | constants.O_NOCTTY);
  } catch (err) {
    log.warn(`check channel ${CHECK_CHANNEL}: ${(err as Error).message}; the boot report goes to the console only`);
    return undefined;
  }
}

/** Whether a console shell runs, on which terminal, and what asked for it. */
function consoleShell(fs: FsRoot, config: InitConfig, cmdline: string): NonNullable<BootReport['shell']> {
  const flag = shellFlag(cmdline);
  const on = flag ?? config.shell;
  const why = flag !== undefined ? `kernel command line ${SHELL_FLAG}` : config.shell ? 'init.json shell: true' : 'not asked for';
  return { on, tty: on ? consoleTty(fs) : null, why };
}

function watchInference(config: InitConfig, supervisor: Supervisor, log: Log): InferenceWatch {
  const w = new InferenceWatch(
    config.inference,
    { info: (n) => supervisor.info().find((s) => s.name === n), startedAt: (n) => supervisor.startedAt(n), restart: (n, why) => supervisor.restart(n, why) },
    (m) => log.info(m),
  );
  return w;
}

function emptyStrategy(config: InitConfig): ModuleStrategy {
  return { always: config.modules.always, detected: [], never: config.modules.never, refused: [], missing: [], builtin: [], planned: [] };
}
