import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  diskCmdline,
  GPT_ESP,
  GPT_LINUX_DATA,
  grubConfig,
  grubMkrescueArgs,
  mke2fsArgs,
  mksquashfsArgs,
  sfdiskScript,
  uuidFrom,
} from '../../../scripts/images/tool-args.ts';
import { ADDON_SOURCES, addonCompileArgs, codeCacheArgs, initBundleOptions, postjectArgs, seaConfig, SEA_FUSE } from '../../../scripts/sea/sea.ts';
import { parseLddList } from '../../../scripts/lib/elf.ts';
import { scratchDir } from '../scratch.ts';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

test("the GRUB entry is the spec's, adapted to the live medium", () => {
  const cfg = grubConfig('quiet loglevel=3', 'aios.verity=ab,4096,panic');
  assert.match(cfg, /^set timeout=0$/m);
  assert.match(
    cfg,
    /linux \/boot\/vmlinuz root=live:LABEL=AIOS ro aios\.verity=ab,4096,panic quiet loglevel=3 console=ttyS0,115200 init=\/usr\/sbin\/aios-init\n/,
  );
  assert.match(cfg, /initrd \/boot\/initramfs\.img/);
  assert.doesNotMatch(cfg, /aios\.shell|console shell/, 'no passwordless shell unless the project asks for one');
  const debug = grubConfig('quiet', '', true);
  assert.match(debug, /menuentry "aiOS with a console shell" \{\n {4}linux .* init=\/usr\/sbin\/aios-init aios\.shell=1\n/);
  // Nothing from another disk: no search, no source, no variable a file could set.
  assert.doesNotMatch(cfg, /search|source|\$/);
  assert.equal(debug.match(/aios\.shell/g)!.length, 1, 'only the second entry has the shell');
  const iso = grubMkrescueArgs('/iso', '/o.iso', 1700000000);
  assert.deepEqual(iso.slice(0, 8), ['-d', '/usr/lib/grub/i386-pc', '-o', '/o.iso', '/iso', '--', '-volid', 'AIOS']);
  assert.deepEqual(iso.slice(8, 11), ['-volume_date', 'uuid', '2023111422132000']);
  assert.deepEqual(iso.slice(-14, -12), ['all_file_dates', '=1700000000']);
  assert.deepEqual(iso.slice(-9, -3), ['-boot_image', 'any', 'efi_path=/boot/efi.img', '-boot_image', 'any', 'efi_boot_part=--efi-boot-image']);
  assert.deepEqual(iso.slice(-1), ['gpt_disk_guid=volume_date_uuid']);
});

test('filesystem identities are derived from the inputs, never random', () => {
  assert.equal(uuidFrom('0123456789abcdef0123456789abcdef'), '01234567-89ab-4def-8123-456789abcdef');
  const a = mke2fsArgs({ tree: '/t', image: '/p.img', sizeMiB: 200, label: 'aios-root', uuid: 'U', hashSeed: 'H' });
  assert.deepEqual(a.slice(-4), ['-d', '/t', '/p.img', '200M']);
  assert.ok(a.includes('hash_seed=H,root_owner=0:0'));
  const p = (sectors: number, type: string, name: string) => ({ sectors, type, uuid: `U-${name}`, name });
  assert.match(
    sfdiskScript({ labelId: 'L', startSector: 2048, partitions: [p(409600, GPT_LINUX_DATA, 'aios-root'), p(1024, GPT_ESP, 'aios-esp')] }),
    /^label: gpt\nlabel-id: L\n[\s\S]*start=2048, size=409600, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, uuid=U-aios-root, name="aios-root"\nstart=411648, size=1024, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=U-aios-esp, name="aios-esp"\n$/,
  );
  assert.throws(() => sfdiskScript({ labelId: 'L', startSector: 2048, partitions: [p(1, GPT_ESP, 'a", type=83')] }), /letters, digits/);
  assert.equal(
    diskCmdline('quiet', 'aios.verity=h,1,panic aios.state=LABEL=aios-state'),
    'root=PARTLABEL=aios-root-a ro aios.verity=h,1,panic aios.state=LABEL=aios-state panic=10 quiet console=ttyS0,115200 init=/usr/sbin/aios-init',
  );
  assert.match(
    diskCmdline('panic=0', '', 'b'),
    /^root=PARTLABEL=aios-root-b ro panic=10 panic=0 /,
    "slot B's partition; the project's panic= comes later, so it wins",
  );
  assert.deepEqual(mke2fsArgs({ tree: '/t', image: '/p.img', sizeMiB: 1, label: 'r', uuid: 'U', hashSeed: 'H', journal: false }).slice(4, 6), [
    '-O',
    '^has_journal',
  ]);
  assert.deepEqual(mksquashfsArgs('/t', '/r.sqfs', 1700000000).slice(-7), [
    'gzip',
    '-Xcompression-level',
    '1',
    '-mkfs-time',
    '1700000000',
    '-all-time',
    '1700000000',
  ]);
});

test('the single executable: blob with the addon as an asset, postject fuse, addon flags', () => {
  assert.deepEqual(seaConfig('/b/loader.cjs', '/b/blob', { 'aios_sys.node': '/b/a.node' }).assets, { 'aios_sys.node': '/b/a.node' });
  assert.deepEqual(codeCacheArgs('m.cjs', 'aios-init.js', 'aios-init.cache'), ['--random-seed=1', 'm.cjs', 'aios-init.js', 'aios-init.cache']);
  assert.deepEqual(postjectArgs('/b/aios-init', '/b/blob'), ['/b/aios-init', 'NODE_SEA_BLOB', '/b/blob', '--sentinel-fuse', SEA_FUSE]);
  assert.ok(addonCompileArgs(['a.c'], 'a.node', '/usr/include/node').includes('-I/usr/include/node'));
  assert.deepEqual(
    [...ADDON_SOURCES].sort(),
    readdirSync(join(import.meta.dirname, '../../../init/addon'))
      .filter((f) => f.endsWith('.c'))
      .sort(),
    'every C source of the addon is compiled',
  );
  assert.deepEqual(parseLddList('\tlinux-vdso.so.1 (0x00007ff)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n'), [
    '/lib/x86_64-linux-gnu/libc.so.6',
    '/lib64/ld-linux-x86-64.so.2',
  ]);
});

test('the debugfs pass pins owner and every time of every inode, the root included', async () => {
  const { debugfsPinScript } = await import('../../../scripts/images/tool-args.ts');
  const lines = debugfsPinScript(['/etc', '/etc/hostname'], 1700000000).trim().split('\n');
  assert.equal(lines.length, 3 * 6);
  assert.ok(lines.includes('sif "/" uid 0'));
  assert.ok(lines.includes('sif "/etc/hostname" ctime @1700000000'), 'seconds since the epoch, as debugfs reads them (a bare number is a date string)');
});

test("the UEFI boot image's FAT serial comes from the epoch, and mcopy keeps the pinned times", async () => {
  const { efiImageArgs } = await import('../../../scripts/images/tool-args.ts');
  const a = efiImageArgs('/o/efi.img', '/o/esp', 0x6af85a61);
  assert.deepEqual(a.mformat, ['-i', '/o/efi.img', '-N', '6af85a61', '::']);
  assert.deepEqual(a.mcopy, ['-s', '-m', '-i', '/o/efi.img', '/o/esp/EFI', '::/']);
  assert.deepEqual(
    efiImageArgs('/o/esp.img', '/o/esp', 1, ['EFI', 'loader']).mcopy.slice(4),
    ['/o/esp/EFI', '/o/esp/loader', '::/'],
    "the disk's ESP: systemd-boot's entries too",
  );
});

test("aios-init is one bundled file; neither the SEA's code cache (different each build) nor a start-up snapshot (tied to one CPU)", async () => {
  const { build } = await import('esbuild');
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const out = join(scratchDir('aios-bundle-'), 'aios-init.cjs');
  await build(initBundleOptions(join(import.meta.dirname, '../../../init/src/main.ts'), out));
  const bundle = await readFile(out, 'utf8');
  assert.doesNotMatch(bundle, /require\("\.\/|from "\.\//, 'every module of init/src is inside the bundle');
  assert.doesNotMatch(bundle, /\bimport\(/, 'no dynamic import: the loader runs the bundle as a vm.Script, which cannot');
  assert.match(bundle, /require\("node:http"\)/, 'node:http, which aios-init imports late, is required where it was imported');
  const cfg = seaConfig('/b/loader.cjs', '/b/blob', {});
  assert.equal(cfg.useCodeCache, false, 'images must be byte-identical across builds');
  assert.equal(cfg.useSnapshot, false, "a start-up snapshot carries the build machine's CPU features: on another CPU aios-init would not start");
});

test("aios-init's cache key names each of the addon's C sources: one added must rebuild the addon", async () => {
  const { bundleInitInputs } = await import('../../../scripts/steps/make-aios-init.ts');
  const addon = bundleInitInputs('/project', '/usr/bin/node', '/usr/include/node/node_api.h').values.addon.split(' ');
  for (const f of ADDON_SOURCES) assert.ok(addon.includes(f), `${f} in ${addon.join(' ')}`);
});

test('the ISO and disk steps key on their command lines: a changed mksquashfs, GRUB or mke2fs line is a new key', async () => {
  const { isoKeyValues } = await import('../../../scripts/steps/write-iso.ts');
  const { diskKeyValues } = await import('../../../scripts/steps/write-disk.ts');
  const { hashValue } = await import('../../../scripts/lib/hash.ts');
  const iso = isoKeyValues('quiet', 1700000000, 'panic');
  assert.ok(iso.mksquashfs.includes('-comp') && iso.mkrescue.length > 0 && iso.grub.includes('quiet') && iso.efi.mformat.length > 0);
  assert.ok(iso.uki.includes('quiet') && iso.uki.includes('lockdown=integrity') && iso.verity.includes('format'));
  assert.notEqual(hashValue(isoKeyValues('quiet', 1700000000, 'restart')), hashValue(iso), 'the action on a corrupt block counts');
  assert.notEqual(hashValue({ ...iso, mksquashfs: [...iso.mksquashfs, '-noD'] }), hashValue(iso));
  const disk = diskKeyValues('quiet', 1700000000, 'panic', 0);
  assert.ok(disk.mke2fs.includes('-d') && disk.pin.length > 0 && disk.sfdisk.includes(GPT_ESP) && disk.efi.mformat.length > 0);
  const [a, b] = disk.uki;
  assert.ok(a!.includes('root=PARTLABEL=aios-root-a') && b!.includes('root=PARTLABEL=aios-root-b'), 'one UKI per slot');
  assert.ok(a!.includes('aios.state=LABEL=aios-state') && a!.includes('lockdown=integrity') && disk.loader.includes('timeout 0'));
  assert.notEqual(hashValue(diskKeyValues('quiet', 1700000000, 'restart', 0)), hashValue(disk), "the disk UKI's action on a corrupt block counts");
  assert.notEqual(hashValue(diskKeyValues('loglevel=3', 1700000000, 'panic', 0)), hashValue(disk), "the disk UKI's command line counts");
  assert.notEqual(hashValue(diskKeyValues('quiet', 1700000000, 'panic', 2048)), hashValue(disk), 'the slot size counts');
  assert.notEqual(hashValue(isoKeyValues('quiet', 1, 'panic')), hashValue(iso), 'the epoch counts');
});

test('GRUB gets the words of boot.cmdline exactly: metacharacters single-quoted, grub.cfg parses, quotes refused', async () => {
  const { grubWords, grubCmdlineProblem } = await import('../../../scripts/images/tool-args.ts');
  const { run } = await import('../../../common/exec.ts');
  const { writeFile } = await import('node:fs/promises');
  assert.equal(grubWords(' quiet  x=$y;z {a} loglevel=3 '), "quiet 'x=$y;z' '{a}' loglevel=3");
  const cfg = grubConfig('quiet x=$y;z {a}|b');
  assert.match(cfg, / ro quiet 'x=\$y;z' '\{a\}\|b' console=ttyS0/);
  const file = join(scratchDir('aios-grub-'), 'grub.cfg');
  await writeFile(file, cfg);
  await run('grub-script-check', [file]);
  assert.match(grubCmdlineProblem('a="b c"') ?? '', /"\\""/);
  assert.throws(() => grubConfig("x='y'"), /boot\.cmdline: holds/);
});

test("a slot holds half again the first build's root, or update.slotMiB; one smaller than the root is refused", async () => {
  const { slotSize } = await import('../../../scripts/steps/write-disk.ts');
  const MiB = 1024 * 1024;
  assert.equal(slotSize(400 * MiB, 0), 600 * MiB);
  assert.equal(slotSize(400 * MiB + 1, 0) % MiB, 0, 'whole MiB');
  assert.equal(slotSize(400 * MiB, 2048), 2048 * MiB);
  assert.throws(() => slotSize(400 * MiB, 100), /update\.slotMiB: 100 MiB is smaller than this build's root/);
});
