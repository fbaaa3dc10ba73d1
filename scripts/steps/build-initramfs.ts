import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync, constants } from 'node:zlib';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { writeCpio, type CpioEntry } from '../initramfs/cpio.ts';
import { rootModuleFiles } from '../initramfs/root-modules.ts';
import { STAGE1_TOOL_DIRS, stage1Tools, type Stage1File } from '../initramfs/stage1-tools.ts';

const STEP_VERSION = 4;

/** Applets stage 1 uses; each is a link to busybox. */
export const STAGE1_APPLETS = [
  'sh',
  'mount',
  'umount',
  'switch_root',
  'mkdir',
  'sleep',
  'cat',
  'ls',
  'tr',
  'findfs',
  'insmod',
  'echo',
  'losetup',
  'cp',
  'env',
  'readlink',
  // The network root (root=http://...): DHCP, the fetch, the interface left as it was.
  'ip',
  'udhcpc',
  'wget',
];

/** Entries of the initramfs, from the busybox binary and the initramfs/ sources. */
export async function stage1Entries(busybox: Buffer, srcDir: string, tools: readonly Stage1File[] = []): Promise<CpioEntry[]> {
  const entries: CpioEntry[] = [
    ...['bin', 'sbin', 'dev', 'proc', 'sys', 'run', 'newroot', 'lib', 'lib/aios', 'etc', 'etc/aios', 'lib/modules', ...STAGE1_TOOL_DIRS].map((p) => ({
      path: p,
      type: 'dir' as const,
      mode: 0o755,
    })),
    { path: 'dev/console', type: 'chardev', mode: 0o600, rdev: [5, 1] },
    { path: 'dev/null', type: 'chardev', mode: 0o666, rdev: [1, 3] },
    { path: 'bin/busybox', type: 'file', mode: 0o755, data: busybox },
    ...STAGE1_APPLETS.map((a) => ({ path: `bin/${a}`, type: 'symlink' as const, mode: 0o777, target: 'busybox' })),
    { path: 'init', type: 'file', mode: 0o755, data: await readFile(join(srcDir, 'init')) },
  ];
  for (const t of tools) entries.push({ path: t.path, type: 'file', mode: 0o755, data: await readFile(t.from) });
  for (const f of await readdir(join(srcDir, 'lib')))
    // Sourced by /init, but a .script is run by a program (udhcpc's lease script).
    entries.push({ path: `lib/aios/${f}`, type: 'file', mode: f.endsWith('.script') ? 0o755 : 0o644, data: await readFile(join(srcDir, 'lib', f)) });
  return entries;
}

const busyboxOf = (ctx: BuildContext) => join(need(ctx, 'rootfs').dir, 'busybox-deb', 'bin', 'busybox');

/** What stage 1 is made of: its sources, the kernel's modules, Debian's busybox and the host's stage-1 tools. */
export function initramfsInputs(ctx: BuildContext, src: string, tools: readonly { path: string; from: string }[]) {
  return {
    version: STEP_VERSION,
    // Of the root filesystem only Debian's busybox, by content: an overlay file or a service of the
    // project changes the root, not stage 1, and a new initramfs cost every such rebuild 1.7 s.
    after: { kernel: need(ctx, 'kernel').dir },
    trees: { initramfs: src },
    // The host's veritysetup and its libraries are copied in: an update of one makes a new initramfs.
    files: { busybox: busyboxOf(ctx), ...Object.fromEntries(tools.map((t) => [t.path, t.from])) },
    // The applet links are code, not files: a new one must make a new initramfs.
    values: { epoch: ctx.sourceDateEpoch, zlib: process.versions.zlib, applets: STAGE1_APPLETS },
  };
}

/** Our own stage 1 (initramfs/init + busybox), as a sorted, owner-0, fixed-mtime newc cpio, gzipped. */
export async function buildInitramfs(ctx: BuildContext): Promise<void> {
  const src = join(ctx.opts.root, 'initramfs');
  const tools = await stage1Tools();
  const dir = await cachedStep(ctx, initramfsInputs(ctx, src, tools), async (out) => {
    // Debian's busybox as unpacked by the rootfs step, never the tree's /bin/busybox: a project's
    // layer or overlay may have replaced that one (with a link to a host file, even).
    const bb = await readFile(busyboxOf(ctx));
    const entries = await stage1Entries(bb, src, tools);
    const modDir = need(ctx, 'kernel').modulesDir;
    const files = rootModuleFiles(await readFile(join(modDir, 'modules.dep'), 'utf8'));
    const dirs = new Set<string>();
    for (const f of files) {
      const parts = f.split('/').slice(0, -1);
      parts.forEach((_, i) => dirs.add(`lib/modules/${parts.slice(0, i + 1).join('/')}`));
      entries.push({ path: `lib/modules/${f}`, type: 'file', mode: 0o644, data: await readFile(join(modDir, f)) });
    }
    for (const d of dirs) entries.push({ path: d, type: 'dir', mode: 0o755 });
    entries.push({ path: 'etc/aios/modules', type: 'file', mode: 0o644, data: Buffer.from(files.map((f) => `${f}\n`).join('')) });
    ctx.log.info(files.length ? `root-device modules: ${files.join(' ')}` : 'root-device drivers are all built in');
    const cpio = writeCpio(entries, ctx.sourceDateEpoch);
    // zlib's gzip header carries no timestamp or name: the same bytes in give the same bytes out.
    await writeFile(join(out, 'initramfs.img'), gzipSync(cpio, { level: constants.Z_BEST_COMPRESSION }));
  });
  ctx.initramfs = { file: join(dir, 'initramfs.img') };
}
