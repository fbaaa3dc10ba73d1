import { GROUP_SPEC, USER_SPEC } from './service-user.ts';
import { bool, list, num, obj, oneOf, parseConfig, str, strList, strMap, unreported, type ConfigError, type Infer } from './schema.ts';

/** memory.max and memory.low as the kernel parses them (memparse, nothing after the suffix): "max" or bytes with K, M, G, T, P or E. */
export const MEMORY_SIZE = { pattern: /^(max|\d+[KMGTPEkmgtpe]?)$/, patternHint: '"max" or a byte count with an optional K, M, G, T, P or E suffix (16M, 2G)' };
/** cpuset.cpus as the kernel parses it (cpulist_parse), or empty for every CPU. */
export const CPU_LIST = {
  pattern: /^$|^\d+(-\d+(:\d+\/\d+)?)?(,\d+(-\d+(:\d+\/\d+)?)?)*$/,
  patternHint: 'a CPU list like 0-3,6 (empty: every CPU)',
};

/** io.cost.model's parameters of the linear model (blk-iocost): bytes or I/Os a second. */
export const IOCOST_MODEL = {
  pattern: /^\s*((rbps|rseqiops|rrandiops|wbps|wseqiops|wrandiops)=\d+\s*)*$/,
  patternHint: 'space-separated rbps=, rseqiops=, rrandiops=, wbps=, wseqiops=, wrandiops= with whole numbers (bytes or I/Os a second)',
};
/** io.cost.qos's parameters (blk-iocost): latency percentiles and targets, and the bounds of the rate it scales the model by. */
export const IOCOST_QOS = {
  pattern: /^\s*(((rpct|wpct|min|max)=\d+(\.\d{1,2})?|(rlat|wlat)=\d+)\s*)*$/,
  patternHint: 'space-separated rpct=, wpct= (a percentile), rlat=, wlat= (µs), min=, max= (per cent of the model)',
};

/** An absolute directory without `..` (or empty). */
const ABSOLUTE_DIR = { pattern: /^$|^\/(?!.*(^|\/)\.\.(\/|$)).*$/, patternHint: 'an absolute path without ..' };

/** Linux's capabilities by number (linux/capability.h, 6.12: CAP_LAST_CAP is CAP_CHECKPOINT_RESTORE, 40). */
export const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** A service's `capabilities` as the addon takes them: a bit per capability number, -1 for all (`all` in the list). */
export function capabilityMask(names: readonly string[]): number {
  if (names.includes('all')) return -1;
  // Above bit 31, so no bitwise operators: a sum of distinct powers of two is the same mask.
  return [...new Set(names)].reduce((mask, n) => mask + 2 ** CAPABILITIES.indexOf(n as (typeof CAPABILITIES)[number]), 0);
}

/** /etc/aios/init.json: typed, unknown keys and bad values reported, defaults used for them. */
export const initSpec = {
  hostname: str('Host name set at boot.', 'aios'),
  statusBind: str(
    "Address of the status endpoint. 0.0.0.0 (default) lets the host reach it through QEMU's user network and a fleet manager over the LAN; 127.0.0.1 keeps it inside the machine.",
    '0.0.0.0',
  ),
  statusToken: str(
    'When set, the status endpoint answers only requests with `Authorization: Bearer <token>` (401 otherwise). Empty: the read-only report is open to whoever reaches the address.',
    '',
  ),
  statusPort: num('TCP port of the read-only status endpoint (the boot report as JSON); 0 turns it off.', 8080, { min: 0, max: 65535, integer: true }),
  modules: obj('Kernel module strategy (the spec\'s "Kernel Module Loading Strategy").', {
    always: strList('Loaded at every boot: storage, network, security. Built-in ones are noted, missing ones reported.', [
      'nvme',
      'ahci',
      'ext4',
      'xfs',
      'virtio_net',
      'e1000e',
      'r8169',
      'apparmor',
    ]),
    never: strList('Refused even when asked for: sound, HID, Bluetooth, wireless (prefixes).', [
      'snd',
      'soundcore',
      'hid',
      'usbhid',
      'bluetooth',
      'btusb',
      'cfg80211',
      'mac80211',
      'iwlwifi',
      'ath',
    ]),
    extra: strList('More modules to load at boot.', []),
    nvidiaModeset: bool('On an NVIDIA GPU, also load nvidia_modeset and nvidia_drm with modeset=1 (displays, DRM clients).', false),
  }),
  network: obj('Ethernet configuration.', {
    dhcp: bool('Ask for an IPv4 address by DHCP on every Ethernet interface.', true),
    dhcpTimeoutSeconds: num('How long to wait for a DHCP lease.', 10, { min: 1 }),
    address: str('Static fallback address when DHCP fails (empty: none).', ''),
    netmask: str('Netmask of the static fallback.', '255.255.255.0'),
    gateway: str('Default gateway of the static fallback.', ''),
  }),
  services: list('Services started and supervised by aios-init, each in its own cgroup.', {
    name: str("Name: letters, digits, - and _, also the cgroup under /sys/fs/cgroup/aios; aios-* and dhcp-* are taken by aios-init's own services.", ''),
    command: str('Absolute path of the program.', ''),
    args: strList('Arguments.', []),
    user: str(
      "User it runs as: a name in the image's /etc/passwd, a uid, or uid:gid; `root` only when it must. Empty: nobody. `aios build` gives each service of aios.json, and llama-server, a system user of its own named after it. Any user but root starts with no capabilities but those listed (ambient), with no_new_privs, and owns /var/lib/<name>.",
      '',
      USER_SPEC,
    ),
    group: str("Its group, when not the user's own: a name in /etc/group, or a gid.", '', GROUP_SPEC),
    rootDirectory: str(
      "A directory the service sees as / (chroot, made by aios-init before the user changes): a container image laid below /. Its command is a path inside it. Empty: the image's own /.",
      '',
      ABSOLUTE_DIR,
    ),
    workingDirectory: str('Its working directory, inside rootDirectory when that is set. Empty: /.', '', ABSOLUTE_DIR),
    env: strMap('Extra environment.'),
    restart: oneOf('Restart policy, with exponential back-off.', ['always', 'on-failure', 'never'] as const, 'on-failure'),
    cpuWeight: num('cgroup cpu.weight (1-10000; inference services get more).', 100, { min: 1, max: 10000, integer: true }),
    startupCpuWeight: num(
      'cgroup cpu.weight until the machine is ready (its boot report), cpuWeight after. Low by default, so that PID 1 and DHCP, which the start waits for, get the CPUs first; a service still takes any CPU they leave idle.',
      1,
      { min: 1, max: 10000, integer: true },
    ),
    capabilities: strList(
      "Capabilities the service keeps (CAP_NET_BIND_SERVICE, ...); `all`: every one root has, for a root service, and none for another user's. Any other list also sets no_new_privs, so no setuid or file-capability program adds one back.",
      ['all'],
      ['all', ...CAPABILITIES],
    ),
    memoryMax: str('cgroup memory.max (bytes, or "max").', 'max', MEMORY_SIZE),
    memoryLow: str(
      'cgroup memory.low: memory the kernel leaves the service under pressure, reclaiming elsewhere first (a model\'s weights; bytes, or "max"; 0: none).',
      '0',
      MEMORY_SIZE,
    ),
    nice: num('Nice value of the process (-20 to 19): its share among the processes of its own cgroup.', 0, { min: -20, max: 19, integer: true }),
    cpuset: str('cgroup cpuset.cpus (empty: all).', '', CPU_LIST),
    ioWeight: num(
      "cgroup io.weight (1-10000): the service's share of each disk's time against the other services while the disk is busy. Any value but 100 turns on the io controller, and the kernel's iocost on every disk (give the disks' rates in ioCost).",
      100,
      { min: 1, max: 10000, integer: true },
    ),
    waitForNetwork: bool(
      'Start once every Ethernet interface has its address (DHCP lease, or the static fallback after dhcpTimeoutSeconds). false: start as soon as the modules are loaded, while DHCP runs; a program that binds 0.0.0.0 needs no address to start.',
      false,
    ),
    stableSeconds: num('A run this long counts as stable: the restart back-off starts over.', 10, { min: 0 }),
    maxQuickFailures: num('After this many runs in a row shorter than stableSeconds, the service is marked failed and left alone.', 5, {
      min: 1,
      integer: true,
    }),
    tty: str(
      "A terminal device for the service's input and output (the console shell uses it); empty: each output line goes to the console as `<name>: <line>` and to /run/aios/log/<name>.log.",
      '',
    ),
    logMaxKB: num('Size cap of /run/aios/log/<name>.log (KiB, on the tmpfs /run): when full it becomes <name>.log.1 and a new file starts.', 1024, {
      min: 4,
      integer: true,
    }),
    consoleLinesPerSecond: num('Output lines a second that reach the console; the rest go to the log file only, and the console says how many.', 200, {
      min: 0,
      integer: true,
    }),
  }),
  ioCost: list(
    "The kernel's iocost model and QoS for a disk, written when a service's ioWeight turns iocost on. iocost divides a disk by the weights only while the disk is busy by its model, and the kernel's model is a guess from the disk's class (for a rotating disk, 174 MB/s): a disk slower than its model is never busy to it, and the weights divide nothing. Give the disk's measured figures here (ctrl=user).",
    {
      disk: str('The disk, as named under /sys/block (sda, nvme0n1).', '', { pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'a disk name like sda or nvme0n1' }),
      model: str(
        "io.cost.model for it: the linear model's rbps, rseqiops, rrandiops, wbps, wseqiops, wrandiops, e.g. \"rbps=16777216 rseqiops=4096 rrandiops=4096\"; those not given keep the kernel's figures. Empty: the kernel's model.",
        '',
        IOCOST_MODEL,
      ),
      qos: str('io.cost.qos for it: rpct, rlat, wpct, wlat, min, max, e.g. "rpct=95 rlat=5000". Empty: the kernel\'s.', '', IOCOST_QOS),
    },
  ),
  shell: bool('Run a root shell (busybox sh, job control) on the console, as the kernel command-line flag `aios.shell=1` does.', false),
  inference: obj("The model server aios-init watches (written by `aios build` from aios.json's `runtime` and `model`).", {
    service: str('Name of the service that runs it; empty: no inference service.', ''),
    healthUrl: str('Polled until it answers 200 (ready), then every few seconds.', ''),
    model: str('Path of the model in the image.', ''),
    modelName: str('Name of the model (its general.name).', ''),
    modelSha256: str('sha256 of the model file.', ''),
    unhealthyRestarts: num('Consecutive failed health checks after which the server is restarted.', 3, { min: 1, integer: true }),
  }),
  pressure: obj("Memory pressure (PSI) triggers on /proc/pressure/memory and on the inference service's cgroup.", {
    stallUs: num('Stall time (µs) within the window that raises an event; 0 turns the triggers off.', 100_000, { min: 0, integer: true }),
    windowUs: num('Window (µs, 500000 to 10000000).', 1_000_000, { min: 500_000, max: 10_000_000, integer: true }),
  }),
  update: obj("A/B updates (written by `aios build` from aios.json's `update`): where they come from and how a slot on trial is judged.", {
    url: str('Base URL of the `aios serve` that hands out updates; empty: none is looked for.', ''),
    reboot: oneOf(
      'Reboot into a written update `now`, on SIGHUP (`signal`), or only at the next reboot (`never`).',
      ['now', 'signal', 'never'] as const,
      'now',
    ),
    intervalSeconds: num('Seconds between two looks for an update.', 300, { min: 1, integer: true }),
    tries: num('Boots a new slot gets (the counter in its entry name).', 3, { min: 1, max: 9, integer: true }),
    trialSeconds: num('Seconds a slot on trial has to be marked good before aios-init reboots to count a failed try.', 600, { min: 10, integer: true }),
  }),
  shutdownTimeoutSeconds: num('Time services get between SIGTERM and SIGKILL at shutdown.', 5, { min: 0 }),
  watchdog: obj(
    "A hardware watchdog (Intel's or AMD's TCO timer, QEMU's i6300esb, a BMC's through ipmi_watchdog): armed as soon as init.json is read, or after the modules step when its driver is a module, and kept alive by PID 1's event loop, so that a hung aios-init resets the machine. A machine without the device has none. At power-off and halt the kernel stops it; at restart it stops the chipset's, and gives a BMC's 120 s instead.",
    {
      device: str("Its device: /dev/watchdog for a BMC's (ipmi_watchdog registers no other name).", '/dev/watchdog0'),
      timeoutSeconds: num('Seconds without a keep-alive after which the hardware resets the machine (kept alive every third of it); 0 leaves it off.', 60, {
        min: 0,
        max: 3600,
        integer: true,
      }),
    },
  ),
} as const;

export type InitConfig = Infer<typeof initSpec>;

export const SERVICE_NAME = /^[A-Za-z0-9_-]+$/;

/** Prefixes of the services aios-init adds itself (aios-probe, dhcp-<interface>): one of init.json's would be taken for them. */
export const RESERVED_SERVICE_PREFIXES = ['aios-', 'dhcp-'] as const;

/** Why a service name cannot be used (it becomes a cgroup directory and a log file); undefined when it can. */
export function serviceNameProblem(name: string): string | undefined {
  if (!name) return 'a service needs a name';
  if (!SERVICE_NAME.test(name)) return `"${name}" may hold only letters, digits, - and _`;
  if (name === 'aios') return '"aios" is reserved: /var/lib/aios is aios-init\'s own directory, and each service owns /var/lib/<name>';
  const prefix = RESERVED_SERVICE_PREFIXES.find((p) => name.startsWith(p));
  if (prefix) return `"${name}" is reserved: aios-init names its own services ${RESERVED_SERVICE_PREFIXES.map((p) => `${p}*`).join(' and ')}`;
  return undefined;
}

/**
 * What a schema cannot say of a list of services: their names become cgroup directories and log
 * files (no path tricks, no two alike), and their commands are exec'd as given. The errors, and the
 * indexes of the services they leave unusable.
 */
export function checkServices(services: readonly { name: string; command: string }[], file: string): { errors: ConfigError[]; unusable: Set<number> } {
  const errors: ConfigError[] = [];
  const unusable = new Set<number>();
  const bad = (i: number, field: string, message: string) => {
    errors.push({ file, key: `services[${i}].${field}`, message });
    unusable.add(i);
  };
  const seen = new Set<string>();
  services.forEach((s, i) => {
    const problem = serviceNameProblem(s.name);
    if (problem) bad(i, 'name', problem);
    else if (seen.has(s.name)) bad(i, 'name', `"${s.name}" names two services`);
    seen.add(s.name);
    if (!s.command.startsWith('/')) bad(i, 'command', `"${s.command}" is not an absolute path`);
  });
  return { errors, unusable };
}

/** ioCost entries name a disk, each once; the errors, and the indexes of the entries left out. */
export function checkIoCost(entries: readonly { disk: string }[], file: string): { errors: ConfigError[]; unusable: Set<number> } {
  const errors: ConfigError[] = [];
  const unusable = new Set<number>();
  const seen = new Set<string>();
  entries.forEach((e, i) => {
    const message = !e.disk ? 'an ioCost entry needs its disk' : seen.has(e.disk) ? `"${e.disk}" has two ioCost entries` : undefined;
    if (message) {
      errors.push({ file, key: `ioCost[${i}].disk`, message });
      unusable.add(i);
    }
    seen.add(e.disk);
  });
  return { errors, unusable };
}

/**
 * init.json's text checked against the spec, with the checks a schema cannot say (service names
 * become cgroup directories and log files). Bad entries are dropped, everything else defaulted.
 */
export function parseInitConfig(text: string | null, path: string): { config: InitConfig; errors: ConfigError[] } {
  if (text === null) return { config: parseConfig(initSpec, undefined, path).value, errors: [] };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return {
      config: parseConfig(initSpec, undefined, path).value,
      errors: [{ file: path, key: '', message: `not valid JSON (${(err as Error).message}); using defaults` }],
    };
  }
  const { value, errors } = parseConfig(initSpec, json, path);
  const services = checkServices(value.services, path);
  value.services = value.services.filter((_, i) => !services.unusable.has(i));
  const ioCost = checkIoCost(value.ioCost, path);
  value.ioCost = value.ioCost.filter((_, i) => !ioCost.unusable.has(i));
  // A disk name the schema refused is already reported; it is also missing, which need not be said twice.
  return { config: value, errors: [...errors, ...services.errors, ...unreported(errors, ioCost.errors)] };
}
