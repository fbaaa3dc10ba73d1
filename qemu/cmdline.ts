/** Pure builder of QEMU command lines for the boot paths, checked by unit tests. */
export type BootPath = 'direct' | 'iso-bios' | 'iso-uefi' | 'iso-secureboot' | 'disk-secureboot' | 'net-bios' | 'net-uefi';
export const BOOT_PATHS: readonly BootPath[] = ['direct', 'iso-bios', 'iso-uefi', 'iso-secureboot', 'disk-secureboot', 'net-bios', 'net-uefi'];
/** The network paths: no disk and no medium; the firmware's iPXE fetches `aios serve`'s script. */
export const isNetPath = (p: BootPath): boolean => p === 'net-bios' || p === 'net-uefi';
/** Paths that boot the ISO's root: from the ISO itself, or served from it over the network. */
export const bootsIsoRoot = (p: BootPath): boolean => p.startsWith('iso-') || isNetPath(p);

/** The paths that boot the firmware with Secure Boot enforced (q35, SMM, Debian's snakeoil variables). */
export const isSecureBootPath = (p: BootPath): boolean => p === 'iso-secureboot' || p === 'disk-secureboot';
/** The paths that boot rootfs.img (a copy, which the disk check reads after). */
export const bootsDisk = (p: BootPath): boolean => p === 'direct' || p === 'disk-secureboot';
/** The build's files a path boots. */
export function pathFiles(p: BootPath): string[] {
  if (p === 'direct') return ['vmlinuz', 'initramfs.img', 'rootfs.img'];
  if (isNetPath(p)) return ['vmlinuz', 'initramfs.img', 'aios.iso'];
  return p === 'disk-secureboot' ? ['rootfs.img'] : ['aios.iso'];
}
export type Accel = 'kvm' | 'tcg';

export const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
export const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
/** OVMF built for Secure Boot (its variables behind SMM), and Debian's variables that enroll the snakeoil key as PK, KEK and db. */
export const OVMF_CODE_SECBOOT = '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd';
export const OVMF_VARS_SNAKEOIL = '/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd';

/** The UEFI paths' firmware: its code, and the variables a boot starts from (copied: the firmware writes them). */
export function uefiFirmware(path: BootPath): { code: string; vars: string } | undefined {
  // net-uefi: without Secure Boot, since the iPXE in QEMU's network ROM is not signed by a key the
  // snakeoil variables trust; its kernel is still the build's, its root still verified by stage 1.
  if (path === 'iso-uefi' || path === 'net-uefi') return { code: OVMF_CODE, vars: OVMF_VARS };
  if (isSecureBootPath(path)) return { code: OVMF_CODE_SECBOOT, vars: OVMF_VARS_SNAKEOIL };
  return undefined;
}

export interface QemuOptions {
  path: BootPath;
  kernel: string;
  initrd: string;
  disk: string;
  iso: string;
  /** A writable copy of OVMF_VARS for the UEFI path. */
  ovmfVars?: string;
  cmdline: string;
  /** The direct path's root arguments beyond root=: dm-verity and the state partition, from build.json. */
  rootArgs?: string;
  memoryMB: number;
  cpus: number;
  accel: Accel;
  /** Host port forwarded to the guest's status port (0: none). */
  hostPort: number;
  guestPort: number;
  /** More host -> guest TCP forwards (llama-server's port). */
  forwards?: readonly { host: number; guest: number }[];
  /** Interactive: serial and monitor on the terminal (Ctrl-A X quits). Headless: serial on stdout, QMP on a socket. */
  interactive: boolean;
  qmpSocket?: string;
  /** Writes go to a temporary overlay, never to the disk image (aios run: the build's image stays as built). */
  snapshot?: boolean;
  /**
   * The disk is thrown away after this boot (aios check boots a copy). With this or `snapshot`,
   * the guest's cache flushes are not passed on to the host's disk (cache=unsafe).
   */
  disposableDisk?: boolean;
  /** fw_cfg string items for this boot (aios check's probe nonce): name -> value. */
  fwCfg?: Record<string, string>;
  /**
   * aios check's channel: a second serial port (the guest's ttyS1, root's alone) written to this
   * file, where aios-init puts the boot report and the probe its lines. Nothing a service prints
   * on the console can reach it.
   */
  checkChannel?: string;
  /** The network paths: the iPXE script's URL, handed out by QEMU's DHCP as the boot file (`aios serve`'s boot.ipxe). */
  netBootUrl?: string;
  /** QEMU's GDB stub on 127.0.0.1:port, the guest stopped before its first instruction. */
  gdbPort?: number;
  extra: readonly string[];
}

/**
 * The display device a boot path attaches by itself. The direct path (aios check's default) gets
 * QEMU's standard VGA, which the image has a driver for (bochs), so that check 4 proves a display
 * device is found and bound on every default check; the other paths stay without one, as servers
 * without a display are.
 */
export function displayArgs(path: BootPath): string[] {
  return path === 'direct' ? ['-device', 'VGA'] : [];
}

export function qemuArgs(o: QemuOptions): string[] {
  // Secure Boot's variables are only protected behind SMM, which QEMU emulates on q35.
  const secure = isSecureBootPath(o.path);
  const args = ['-machine', secure ? 'q35,smm=on' : 'pc', '-m', String(o.memoryMB), '-smp', String(o.cpus)];
  if (secure) args.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
  args.push(...(o.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']));
  args.push('-no-reboot', '-vga', 'none');
  // The direct path uses none of QEMU's default devices, and the kernel probes them: the empty
  // CD-ROM drive alone held stage 1 back by about 0.09 s under TCG. Without them, -nographic's
  // console has to be asked for by name.
  const bare = o.path === 'direct';
  if (bare) args.push('-nodefaults');
  args.push(...displayArgs(o.path));
  if (o.interactive) args.push('-nographic', ...(bare ? ['-serial', 'mon:stdio'] : []));
  else args.push('-display', 'none', '-serial', 'stdio', '-monitor', 'none', ...(o.qmpSocket ? ['-qmp', `unix:${o.qmpSocket},server=on,wait=off`] : []));
  if (o.checkChannel) {
    // After the console's -serial: this one is the second UART, ttyS1.
    if (/[,\s]/.test(o.checkChannel)) throw new Error(`the check channel's file ${o.checkChannel}: a path without commas or spaces`);
    args.push('-chardev', `file,id=aioscheck,path=${o.checkChannel}`, '-serial', 'chardev:aioscheck');
  }
  const pairs = [...(o.hostPort ? [{ host: o.hostPort, guest: o.guestPort }] : []), ...(o.forwards ?? [])];
  const fwd = pairs.map((f) => `,hostfwd=tcp:127.0.0.1:${f.host}-:${f.guest}`).join('');
  // The network path: the NIC's iPXE ROM takes the boot file from QEMU's DHCP, an http:// URL.
  let bootfile = '';
  if (isNetPath(o.path)) {
    if (!o.netBootUrl || !/^http:\/\/[\w.:\[\]/-]+$/.test(o.netBootUrl))
      throw new Error(`the ${o.path} path needs an http:// boot file URL without commas, not ${o.netBootUrl}`);
    bootfile = `,bootfile=${o.netBootUrl}`;
  }
  // The network paths boot the card first: SeaBIOS by -boot n, OVMF by the boot order QEMU hands it.
  args.push('-netdev', `user,id=net0${fwd}${bootfile}`, '-device', `virtio-net-pci,netdev=net0${isNetPath(o.path) ? ',bootindex=0' : ''}`);
  switch (o.path) {
    case 'direct':
      args.push(
        '-kernel',
        o.kernel,
        '-initrd',
        o.initrd,
        '-append',
        `console=ttyS0 root=/dev/sda1 ro ${o.rootArgs ?? ''} ${o.cmdline} panic=-1`.replace(/\s+/g, ' ').trim(),
      );
      args.push('-drive', `file=${o.disk},format=raw,if=ide${directDriveOptions(o)}`);
      break;
    case 'iso-bios':
      args.push('-cdrom', o.iso, '-boot', 'd');
      break;
    case 'net-bios':
      // No disk and no medium: SeaBIOS boots the network card.
      args.push('-boot', 'n');
      break;
    case 'net-uefi':
      // OVMF starts the iPXE of QEMU's network ROM, which runs the script the DHCP answer names.
      args.push(...pflash(o));
      break;
    case 'iso-uefi':
    case 'iso-secureboot':
      args.push(...pflash(o), '-cdrom', o.iso, '-boot', 'd');
      break;
    case 'disk-secureboot':
      // The firmware starts the EFI partition's signed UKI: the disk is the first boot option,
      // ahead of the network card's PXE entry.
      args.push(
        ...pflash(o),
        '-drive',
        `file=${o.disk},format=raw,if=none,id=disk0${directDriveOptions(o)}`,
        '-device',
        'virtio-blk-pci,drive=disk0,bootindex=0',
      );
      break;
  }
  for (const [name, value] of Object.entries(o.fwCfg ?? {})) {
    if (!/^opt\/[\w./-]+$/.test(name) || /[,\s]/.test(value))
      throw new Error(`fw_cfg item ${name}=${value}: a name under opt/ and a value without commas or spaces`);
    args.push('-fw_cfg', `name=${name},string=${value}`);
  }
  if (o.gdbPort) args.push('-gdb', `tcp:127.0.0.1:${o.gdbPort}`, '-S');
  args.push(...o.extra);
  return args;
}

/** OVMF's code (read-only) and a writable copy of its variables. */
function pflash(o: QemuOptions): string[] {
  if (!o.ovmfVars) throw new Error(`the ${o.path} path needs a writable copy of OVMF_VARS`);
  return ['-drive', `if=pflash,format=raw,readonly=on,file=${uefiFirmware(o.path)!.code}`, '-drive', `if=pflash,format=raw,file=${o.ovmfVars}`];
}

/**
 * Every write the guest makes still reaches the image file (the host's page cache), and e2fsck
 * reads it after QEMU has exited; only the wait for the host's disk on each guest flush goes. That
 * wait is what a host crash would need, and it is long: the remount of / read-write, whose
 * superblock write ends in a flush, took 126-131 ms under TCG here with it and 32-39 ms without.
 */
function directDriveOptions(o: Pick<QemuOptions, 'snapshot' | 'disposableDisk'>): string {
  return `${o.snapshot ? ',snapshot=on' : ''}${o.snapshot || o.disposableDisk ? ',cache=unsafe' : ''}`;
}

/** The gdb command line that attaches to `aios run --gdb`, with the kernel's GDB scripts when the tree has them. */
export function gdbCommand(vmlinux: string, port: number, gdbScripts?: string): string[] {
  const scripts = gdbScripts ? ['-ex', `add-auto-load-safe-path ${gdbScripts}`, '-ex', `source ${gdbScripts}/vmlinux-gdb.py`] : [];
  return ['gdb', '-q', vmlinux, ...scripts, '-ex', `target remote 127.0.0.1:${port}`];
}

export function parsePaths(p: string): BootPath[] {
  if (p === 'all') return [...BOOT_PATHS];
  const list = p.split(',').map((x) => x.trim());
  const bad = list.filter((x) => !BOOT_PATHS.includes(x as BootPath));
  if (bad.length) throw new Error(`unknown boot path ${bad.join(', ')}; known: ${BOOT_PATHS.join(', ')}, all`);
  return list as BootPath[];
}
