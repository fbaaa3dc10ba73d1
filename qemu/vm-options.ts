import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readBuildJson, verityArgs, type BuildJson } from '../common/build-json.ts';
import { bootsDisk, isSecureBootPath, pathFiles, type Accel, type BootPath, type QemuOptions } from './cmdline.ts';
import { probeKvm } from './runner.ts';

export interface CheckArgs {
  out?: string;
  path?: string;
  json?: string;
  junit?: string;
  'qemu-arg'?: string[];
  timeout?: number;
  accel?: string;
  config?: string;
  /** aios check, the network paths: boot from this `aios serve` (its base URL as the guest reaches it) instead of the check's own server. */
  'net-url'?: string;
  /** aios run: a root shell on the console (kernel flag aios.shell=1). */
  shell?: boolean;
  /** aios run: QEMU's GDB stub on this port, the guest stopped at start. */
  gdb?: number;
}

/** build.json of the build in `out`, for the VM: an empty record when there is none (the files' own checks say what is missing). */
export async function readBuildRecord(out: string): Promise<Partial<BuildJson>> {
  return readBuildJson(out).catch(() => ({}));
}

/** What the VM takes of aios.json (the command loads it): where builds go, the command line, the machine. */
export interface VmConfig {
  outDir: string;
  boot: { cmdline: string };
  check: { memoryMB: number; cpus: number };
}

/** Options shared by `aios run` and `aios check`: the files of a build and the VM settings. */
export async function vmOptions(args: CheckArgs, config: VmConfig, path: BootPath, accel: Accel): Promise<Omit<QemuOptions, 'interactive' | 'qmpSocket'>> {
  const out = resolve(args.out ?? config.outDir);
  const missing = pathFiles(path).filter((f) => !existsSync(join(out, f)));
  const format = bootsDisk(path) ? 'disk' : 'iso';
  if (missing.length)
    throw new Error(
      `${out} has no ${missing.join(', ')}: run \`aios build --out ${out}\` first, with the ${format} format (the default builds both; \`--format ${format}\` builds it alone)`,
    );
  const guestPort = (await imageStatus(out)).port;
  const build = await readBuildRecord(out);
  const signed = secureBootProblem(path, build);
  if (signed) throw new Error(signed);
  const disk = build.verity?.disk;
  return {
    path,
    kernel: join(out, 'vmlinuz'),
    initrd: join(out, 'initramfs.img'),
    disk: join(out, 'rootfs.img'),
    iso: join(out, 'aios.iso'),
    cmdline: config.boot.cmdline,
    rootArgs: disk && verityArgs(disk, build.verity!.onCorruption, true),
    memoryMB: config.check.memoryMB,
    cpus: config.check.cpus,
    accel,
    hostPort: 0,
    guestPort,
    extra: args['qemu-arg'] ?? [],
  };
}

/** The dm-verity arguments of a network boot: the ISO's root is what the server hands out. */
export function netRootArgs(build: Partial<BuildJson>, out: string): string {
  const iso = build.verity?.iso;
  if (!iso) throw new Error(`${join(out, 'build.json')} records no verity data for the ISO's root: network boot serves that root; build with the iso format`);
  return verityArgs(iso, build.verity!.onCorruption, false);
}

/**
 * Why the Secure Boot path cannot boot this build: QEMU's Secure Boot variables (Debian's
 * snakeoil set) trust Debian's test key only, so a UKI signed with a project's own db would be
 * refused by design, which proves nothing about the image.
 */
export function secureBootProblem(path: BootPath, build: Partial<BuildJson>): string | undefined {
  if (!isSecureBootPath(path)) return undefined;
  if (!build.secureBoot) return 'build.json records no signing keys (a build of an older aios): run `aios build` again';
  if (!build.secureBoot.test)
    return `the ${path} path boots OVMF with Debian's snakeoil Secure Boot variables, which trust Debian's test key only; this build is signed with ${build.secureBoot.keys}. Check it with secureBoot.keys empty (the test key), or enroll your db certificate in a machine's firmware (docs/verified-boot.md)`;
  return undefined;
}

/** The status endpoint of the build in `out`, as its image's init.json sets it (build.json's record of it). */
export async function imageStatus(out: string): Promise<{ port: number; bind: string }> {
  const status = (await readBuildRecord(out)).status;
  if (!status)
    throw new Error(
      `${join(out, 'build.json')} does not record the image's status endpoint (a build.json of an older aios, or none): run \`aios build --out ${out}\` again`,
    );
  return status;
}

/** Why the host cannot reach the image's status endpoint through a forwarded port; undefined when it can. */
export function statusUnreachable(s: { port: number; bind: string }): string | undefined {
  if (s.port === 0) return 'the image has no status endpoint (init.json statusPort 0)';
  // QEMU's user network forwards to the guest's own address, never to its loopback.
  if (/^(127\.|::1$|localhost$)/.test(s.bind)) return `the status endpoint listens inside the guest only (init.json statusBind ${s.bind})`;
  return undefined;
}

export async function chooseAccel(wanted: string, kernel: string): Promise<{ accel: Accel; why: string }> {
  if (wanted === 'tcg') return { accel: 'tcg', why: 'asked for TCG' };
  if (wanted === 'kvm') return { accel: 'kvm', why: 'asked for KVM' };
  return probeKvm(kernel);
}
