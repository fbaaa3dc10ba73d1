// Network boot: what `aios serve` hands out and what stage 1 fetches, shared by the server and
// `aios check`'s network path so that the two cannot drift.

/** The files a network boot fetches, by the name it asks for. */
export const NET_FILES = { kernel: 'vmlinuz', initrd: 'initramfs.img', root: 'rootfs.squashfs', script: 'boot.ipxe' } as const;

/**
 * Debian's iPXE (package ipxe), for firmware that only speaks PXE: a site's TFTP server hands out
 * one of these, and its DHCP server then gives iPXE the boot.ipxe URL.
 */
export const IPXE_BINARIES = { bios: '/usr/lib/ipxe/undionly.kpxe', uefi: '/usr/lib/ipxe/ipxe.efi' } as const;

/**
 * The server's base URL as machines reach it: http, a host name or address, a port; nothing a
 * kernel command line or an iPXE script would read as more than one word.
 */
export function checkBaseUrl(url: string): string | undefined {
  const m = /^http:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?\/?$/.exec(url);
  if (!m) return `${url}: expected http://HOST[:PORT] (letters, digits, dots and dashes; no path, user or query)`;
  const port = m[2] ? Number(m[2].slice(1)) : 80;
  if (port < 1 || port > 65535) return `${url}: port ${port} is out of range`;
  return undefined;
}

/** The kernel command line of a network boot: stage 1 fetches the root from `base` and opens it through dm-verity. */
export function netCmdline(base: string, rootArgs: string, cmdline: string): string {
  return `root=${base.replace(/\/$/, '')}/${NET_FILES.root} ro ${rootArgs} ${cmdline} console=ttyS0,115200 init=/usr/sbin/aios-init`
    .replace(/\s+/g, ' ')
    .trim();
}

/** The iPXE script a machine runs: its address by DHCP, then the kernel and initramfs over HTTP. */
export function ipxeScript(base: string, cmdline: string): string {
  const b = base.replace(/\/$/, '');
  // iPXE expands ${...} in its commands: a command line holding one would be rewritten.
  if (/[${}\n]/.test(cmdline)) throw new Error(`the network boot command line must not hold $, { } or a newline: ${cmdline}`);
  // On UEFI, iPXE starts the kernel's EFI stub, which finds the initramfs only by the name given in
  // initrd= (iPXE names the image after its URL's last part); on BIOS the kernel ignores the word.
  return ['#!ipxe', 'dhcp', `kernel ${b}/${NET_FILES.kernel} initrd=${NET_FILES.initrd} ${cmdline}`, `initrd ${b}/${NET_FILES.initrd}`, 'boot', ''].join('\n');
}
