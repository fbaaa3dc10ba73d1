import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rootModuleFiles } from '../../../scripts/initramfs/root-modules.ts';

const dep = [
  'kernel/drivers/ata/libata.ko: kernel/drivers/scsi/scsi_mod.ko',
  'kernel/drivers/scsi/scsi_mod.ko:',
  'kernel/drivers/ata/ata_piix.ko: kernel/drivers/ata/libata.ko kernel/drivers/scsi/scsi_mod.ko',
  'kernel/fs/squashfs/squashfs.ko:',
  'kernel/drivers/gpu/drm/drm.ko:',
].join('\n');

test('root-device drivers built as modules go in with their dependencies first, each once', () => {
  assert.deepEqual(rootModuleFiles(dep), [
    'kernel/drivers/scsi/scsi_mod.ko',
    'kernel/drivers/ata/libata.ko',
    'kernel/drivers/ata/ata_piix.ko',
    'kernel/fs/squashfs/squashfs.ko',
  ]);
});

test('everything built in: nothing goes in (the default aiOS kernel)', () => {
  assert.deepEqual(rootModuleFiles('kernel/drivers/gpu/drm/drm.ko:\n'), []);
});
