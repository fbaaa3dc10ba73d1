import { IPXE_BINARIES } from '../../common/netboot.ts';
import { existsSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { writeFileAtomically } from '../lib/atomic.ts';
import { dirname, join } from 'node:path';
import { run } from '../../common/exec.ts';

/** A host tool the build needs, how to tell it is there, and the Debian package that has it. */
export interface HostTool {
  name: string;
  pkg: string;
  /** A command on PATH, or an absolute path of a file that must exist. */
  probe: string;
  why: string;
  optional?: boolean;
  /** Needed only to boot images (aios run, aios check), not to build them. */
  bootOnly?: boolean;
}

/** Where node_api.h may be: beside this Node (its own tarball), or Debian's libnode-dev. */
export const NODE_INCLUDE_DIRS = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'];
const nodeHeader = NODE_INCLUDE_DIRS.map((d) => join(d, 'node_api.h')).find((f) => existsSync(f)) ?? join(NODE_INCLUDE_DIRS[0]!, 'node_api.h');

export const HOST_TOOLS: readonly HostTool[] = [
  { name: 'make', pkg: 'make', probe: 'make', why: 'kernel build' },
  { name: 'gcc', pkg: 'gcc', probe: 'gcc', why: 'kernel build, aios-init addon' },
  { name: 'flex', pkg: 'flex', probe: 'flex', why: 'kernel config parser' },
  { name: 'bison', pkg: 'bison', probe: 'bison', why: 'kernel config parser' },
  { name: 'bc', pkg: 'bc', probe: 'bc', why: 'kernel build' },
  { name: 'perl', pkg: 'perl', probe: 'perl', why: 'kernel build scripts' },
  { name: 'libelf headers', pkg: 'libelf-dev', probe: '/usr/include/libelf.h', why: 'objtool' },
  { name: 'libssl headers', pkg: 'libssl-dev', probe: '/usr/include/openssl/ssl.h', why: 'kernel signing tools' },
  { name: 'cpio', pkg: 'cpio', probe: 'cpio', why: 'kernel headers archive, initramfs checks' },
  { name: 'xz', pkg: 'xz-utils', probe: 'xz', why: 'kernel tarballs' },
  { name: 'depmod', pkg: 'kmod', probe: '/sbin/depmod', why: 'modules.dep' },
  { name: 'modinfo', pkg: 'kmod', probe: '/sbin/modinfo', why: 'vermagic of the NVIDIA modules' },
  { name: 'patch', pkg: 'patch', probe: 'patch', why: "aiOS's patches to the NVIDIA open modules" },
  {
    name: 'Debian archive keyring',
    pkg: 'debian-archive-keyring',
    probe: '/usr/share/keyrings/debian-archive-keyring.gpg',
    why: "signatures of Debian's contrib and non-free indexes (private apt configuration)",
  },
  { name: 'dpkg-deb', pkg: 'dpkg', probe: 'dpkg-deb', why: 'unpacking Debian packages without root' },
  { name: 'apt-get', pkg: 'apt', probe: 'apt-get', why: 'offline kernel source, busybox, NVIDIA modules and firmware' },
  { name: 'flock', pkg: 'util-linux', probe: 'flock', why: 'one build at a time per cache (a kernel lock, dropped when its holder dies)' },
  { name: 'mknod', pkg: 'coreutils', probe: 'mknod', why: 'device nodes an aios.json allows' },
  { name: 'ccache', pkg: 'ccache', probe: 'ccache', why: 'faster kernel rebuilds', optional: true },
  { name: 'mke2fs', pkg: 'e2fsprogs', probe: '/sbin/mke2fs', why: 'rootfs.img (mke2fs -d, no mount)' },
  { name: 'e2fsck', pkg: 'e2fsprogs', probe: '/sbin/e2fsck', why: 'rootfs.img check' },
  { name: 'sfdisk', pkg: 'fdisk', probe: '/sbin/sfdisk', why: 'partition table of rootfs.img' },
  { name: 'veritysetup', pkg: 'cryptsetup-bin', probe: '/sbin/veritysetup', why: "the roots' dm-verity hash trees, and stage 1's opening of them" },
  { name: 'openssl', pkg: 'openssl', probe: 'openssl', why: 'aios keys; the kernel module key' },
  {
    name: 'OVMF test key',
    pkg: 'ovmf',
    probe: '/usr/share/ovmf/PkKek-1-snakeoil.key',
    why: "signing when aios.json names no secureBoot.keys (Debian's test key)",
  },
  { name: 'sbsign', pkg: 'sbsigntool', probe: 'sbsign', why: 'signing the unified kernel image for Secure Boot' },
  {
    name: 'libfaketime',
    pkg: 'libfaketime',
    probe: '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
    why: "sbsign's signing time at SOURCE_DATE_EPOCH (a reproducible signature)",
  },
  { name: 'systemd EFI stub', pkg: 'systemd-boot-efi', probe: '/usr/lib/systemd/boot/efi/linuxx64.efi.stub', why: 'the unified kernel image (UKI)' },
  { name: 'efitools', pkg: 'efitools', probe: 'cert-to-efi-sig-list', why: 'aios keys: the signature lists a firmware enrolls' },
  { name: 'objcopy', pkg: 'binutils', probe: 'objcopy', why: 'the unified kernel image (sections added to the EFI stub)' },
  { name: 'mksquashfs', pkg: 'squashfs-tools', probe: 'mksquashfs', why: 'root filesystem of the ISO' },
  { name: 'grub-mkrescue', pkg: 'grub-common', probe: 'grub-mkrescue', why: 'aios.iso' },
  { name: 'GRUB BIOS images', pkg: 'grub-pc-bin', probe: '/usr/lib/grub/i386-pc/cdboot.img', why: 'BIOS boot of aios.iso' },
  { name: 'GRUB UEFI images', pkg: 'grub-efi-amd64-bin', probe: '/usr/lib/grub/x86_64-efi/linux.mod', why: 'UEFI boot of aios.iso' },
  { name: 'xorriso', pkg: 'xorriso', probe: 'xorriso', why: 'aios.iso' },
  { name: 'mtools', pkg: 'mtools', probe: 'mformat', why: 'EFI system partition of aios.iso' },
  { name: 'cmake', pkg: 'cmake', probe: 'cmake', why: 'llama-server build' },
  { name: 'ninja', pkg: 'ninja-build', probe: 'ninja', why: 'llama-server build' },
  { name: 'git', pkg: 'git', probe: 'git', why: 'llama.cpp source (a git bundle in node-llama-cpp)' },
  { name: 'python3 (Debian)', pkg: 'python3', probe: '/usr/bin/python3', why: 'the tiny test model (llama.cpp gguf-py)' },
  { name: 'numpy for Debian python3', pkg: 'python3-numpy', probe: '/usr/lib/python3/dist-packages/numpy/__init__.py', why: 'the tiny test model (gguf-py)' },
  { name: 'PyYAML for Debian python3', pkg: 'python3-yaml', probe: '/usr/lib/python3/dist-packages/yaml/__init__.py', why: 'gguf-py imports it' },
  {
    name: 'Node.js headers (node_api.h)',
    pkg: 'libnode-dev',
    probe: nodeHeader,
    why: "the aios-init system-call addon (Node's own install has them in include/node)",
  },
  { name: 'qemu-system-x86_64', pkg: 'qemu-system-x86', probe: 'qemu-system-x86_64', why: 'aios run, aios check', bootOnly: true },
  { name: 'setpriv', pkg: 'util-linux', probe: 'setpriv', why: 'QEMU dies with aios, even a killed one (--pdeathsig)', bootOnly: true },
  { name: 'OVMF', pkg: 'ovmf', probe: '/usr/share/OVMF/OVMF_CODE_4M.fd', why: 'UEFI boot in aios check', bootOnly: true },
  {
    name: 'iPXE',
    pkg: 'ipxe',
    probe: IPXE_BINARIES.bios,
    why: 'aios serve hands out iPXE to firmware that only speaks PXE/TFTP',
    bootOnly: true,
    optional: true,
  },
  { name: 'OVMF Secure Boot', pkg: 'ovmf', probe: '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd', why: 'the Secure Boot path of aios check', bootOnly: true },
];

async function onPath(cmd: string): Promise<boolean> {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/sbin', '/usr/sbin']);
  return dirs.some((d) => existsSync(`${d}/${cmd}`));
}

export async function isPresent(t: HostTool): Promise<boolean> {
  return t.probe.startsWith('/') ? existsSync(t.probe) : onPath(t.probe);
}

export async function missingTools(tools: readonly HostTool[] = HOST_TOOLS): Promise<HostTool[]> {
  const flags = await Promise.all(tools.map(isPresent));
  return tools.filter((_, i) => !flags[i]);
}

/** The exact line that installs what is missing. */
export function installLine(missing: readonly HostTool[]): string {
  const pkgs = [...new Set(missing.map((t) => t.pkg))].sort();
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  return `${sudo}apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
}

export function doctorReport(missing: readonly HostTool[]): string {
  const required = missing.filter((t) => !t.optional);
  if (!missing.length) return `all ${HOST_TOOLS.length} host tools are present`;
  const lines = missing.map((t) => `  missing ${t.optional ? '(optional) ' : ''}${t.name} (${t.why}): Debian package ${t.pkg}`);
  return [
    ...lines,
    '',
    `install with:`,
    `  ${installLine(missing)}`,
    ...(required.length ? [] : ['(only optional tools are missing: the build can go on)']),
  ].join('\n');
}

const versionCache = new Map<string, Promise<string | undefined>>();

/** Tools that do not answer --version. */
const VERSION_FLAG: Record<string, string> = { '/sbin/mke2fs': '-V', '/sbin/debugfs': '-V', mksquashfs: '-version', mformat: '--version', openssl: 'version' };

/** The versions of several tools, for a step's inputs: a new compiler or mke2fs is a new output. */
export async function toolVersions(tools: readonly string[]): Promise<Record<string, string | undefined>> {
  const v = await Promise.all(tools.map(toolVersion));
  return Object.fromEntries(tools.map((t, i) => [t, v[i]]));
}

/**
 * Versions already asked, on disk: a binary's path, size, mtime and inode say it is the same
 * binary, so a no-op build spawns no compiler to learn what it learnt last time (a package
 * upgrade replaces the file, and with it the key).
 */
let remembered: { file: string; entries: Record<string, string | null> } | undefined;

/** Keep tool versions in `file` from now on (the build's cache: `aios build` calls this once). */
export async function rememberToolVersions(file: string): Promise<void> {
  const entries: unknown = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as unknown,
    () => ({}),
  );
  // A file of another shape (an older aios, a hand edit) is started afresh, never trusted in part.
  const ok =
    typeof entries === 'object' && entries !== null && !Array.isArray(entries) && Object.values(entries).every((v) => v === null || typeof v === 'string');
  remembered = { file, entries: ok ? (entries as Record<string, string | null>) : {} };
}

/** The binary `tool` names (a path, or found on PATH as exec would), as path, size, mtime and inode. */
export async function binaryKey(tool: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  const candidates = tool.includes('/')
    ? [tool]
    : path
        .split(':')
        .filter(Boolean)
        .map((d) => join(d, tool));
  for (const c of candidates) {
    try {
      const real = await realpath(c);
      const st = await stat(real);
      if (st.isFile()) return `${real}:${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      /* not in this directory */
    }
  }
  return undefined;
}

/** First line of `tool --version`, or undefined when the tool is not there. */
export function toolVersion(tool: string): Promise<string | undefined> {
  let p = versionCache.get(tool);
  if (!p) {
    p = (async () => {
      // By name and binary: a multi-call binary says the name it was run as (mformat and mcopy are
      // both mtools, and each build keyed the images on whichever was asked first before).
      const binary = remembered && (await binaryKey(tool));
      const key = binary && `${tool} ${binary}`;
      if (key && remembered && Object.hasOwn(remembered.entries, key)) return remembered.entries[key] ?? undefined;
      const v = await run(tool, [VERSION_FLAG[tool] ?? '--version']).then(
        (r) => (r.stdout || r.stderr).split('\n')[0]?.trim(),
        () => undefined,
      );
      if (key && remembered) {
        remembered.entries[key] = v ?? null;
        await writeFileAtomically(remembered.file, `${JSON.stringify(remembered.entries, null, 1)}\n`).catch(() => {});
      }
      return v;
    })();
    versionCache.set(tool, p);
  }
  return p;
}
