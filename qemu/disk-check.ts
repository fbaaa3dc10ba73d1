import { run } from '../common/exec.ts';
import { parsePartitions, type Partition } from '../common/partitions.ts';

export async function partitionsOf(disk: string): Promise<Partition[]> {
  return parsePartitions((await run('/sbin/sfdisk', ['--json', disk])).stdout);
}

/**
 * Was the state file system left as a clean shutdown leaves it? e2fsck -fn finds damage, but it
 * skips the journal and calls a file system that was never unmounted clean, so the superblock
 * is read too: the journal must not need recovery, and the state must be "clean".
 */
export function superblockVerdict(dumpe2fs: string): { ok: boolean; detail: string } {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(dumpe2fs)?.[1]?.trim();
  const features = (field('Filesystem features') ?? '').split(/\s+/);
  const state = field('Filesystem state') ?? 'unknown';
  if (features.includes('needs_recovery'))
    return { ok: false, detail: 'the journal needs recovery: the file system was neither unmounted nor remounted read-only before power-off' };
  if (state !== 'clean') return { ok: false, detail: `file system state "${state}"` };
  return { ok: true, detail: 'superblock clean, journal empty' };
}

/** e2fsck -fn of the ext4 file system at `offset` bytes into a disk image, and its superblock's state. */
export async function fsckAt(disk: string, offset: number): Promise<{ ok: boolean; detail: string }> {
  const part = `${disk}?offset=${offset}`;
  try {
    const r = await run('/sbin/e2fsck', ['-fn', part], { okCodes: [1, 4, 8] });
    const sb = superblockVerdict((await run('/sbin/dumpe2fs', ['-h', part])).stdout);
    return { ok: r.exitCode === 0 && sb.ok, detail: `e2fsck -fn exit ${r.exitCode}: ${r.stdout.trim().split('\n').pop() ?? ''}; ${sb.detail}` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

/** Whether the bytes of `p` are the same in two disk images (cmp over that range only). */
async function sameRange(a: string, b: string, p: Partition): Promise<boolean> {
  const r = await run('cmp', ['-s', `--bytes=${p.size}`, `--ignore-initial=${p.start}:${p.start}`, a, b], { okCodes: [1] });
  return r.exitCode === 0;
}

/**
 * The disk after a boot, against the image as built: the root partition (read-only, dm-verity)
 * and the EFI system partition byte for byte unchanged, and the state partition (/var) clean. A
 * disk of the old layout (one partition, a writable root) gets the e2fsck of its root.
 */
export async function checkBootedDisk(booted: string, built: string): Promise<{ ok: boolean; detail: string }> {
  const parts = await partitionsOf(booted).catch((err: Error) => err);
  if (parts instanceof Error) return { ok: false, detail: `cannot read the partition table: ${parts.message}` };
  if (parts.length < 2) return fsckAt(booted, parts[0]?.start ?? 1 << 20);
  const [root, state, esp, slotB] = parts as [Partition, Partition, Partition | undefined, Partition | undefined];
  const unchanged = (await sameRange(booted, built, root)) && (!slotB || (await sameRange(booted, built, slotB)));
  const espUnchanged = esp ? await sameRange(booted, built, esp) : true;
  const fsck = await fsckAt(booted, state.start);
  const espDetail = esp ? `; EFI partition ${espUnchanged ? 'unchanged' : 'CHANGED by the boot (nothing may write the signed UKI)'}` : '';
  return {
    ok: unchanged && espUnchanged && fsck.ok,
    detail: `root partition${slotB ? 's (slots A and B)' : ''} ${unchanged ? 'unchanged' : 'CHANGED by the boot (it must be read-only)'}${espDetail}; state partition: ${fsck.detail}`,
  };
}
