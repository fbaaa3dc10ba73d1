/** dm-verity at build time with veritysetup (Debian's cryptsetup-bin): pure builders and parsers, and the one step that runs it. */
import { stat, truncate } from 'node:fs/promises';
import { run } from '../../common/exec.ts';
import type { VerityRecord } from '../../common/build-json.ts';
import { sha256 } from '../lib/hash.ts';
import { uuidFrom } from './tool-args.ts';

export const VERITY_BLOCK = 4096;
/** By path: /sbin is not on every user's PATH. */
export const VERITYSETUP = '/sbin/veritysetup';

/**
 * veritysetup format over one file: the hash tree (with its superblock) is written after the
 * filesystem, at `hashOffset`. Salt and UUID are given, so the same filesystem gives the same
 * tree, root hash and bytes.
 */
export function veritysetupFormatArgs(o: { image: string; hashOffset: number; salt: string; uuid: string }): string[] {
  if (o.hashOffset % VERITY_BLOCK) throw new Error(`the verity hash offset ${o.hashOffset} is not a multiple of ${VERITY_BLOCK}`);
  return [
    'format',
    `--data-block-size=${VERITY_BLOCK}`,
    `--hash-block-size=${VERITY_BLOCK}`,
    `--data-blocks=${o.hashOffset / VERITY_BLOCK}`,
    `--hash-offset=${o.hashOffset}`,
    '--hash=sha256',
    `--salt=${o.salt}`,
    `--uuid=${o.uuid}`,
    o.image,
    o.image,
  ];
}

/** The root hash from veritysetup format's report ("Root hash:  <hex>"). */
export function parseRootHash(stdout: string): string {
  const m = /^Root hash:\s*([0-9a-f]{64})\s*$/m.exec(stdout);
  if (!m) throw new Error(`veritysetup format printed no sha256 root hash:\n${stdout.trim().slice(0, 600)}`);
  return m[1]!;
}

/** veritysetup verify on the host: the same check the kernel makes, over every block. */
export function veritysetupVerifyArgs(o: { image: string; hashOffset: number; rootHash: string }): string[] {
  return ['verify', `--hash-offset=${o.hashOffset}`, o.image, o.image, o.rootHash];
}

const MiB = 1024 * 1024;

/** The hash tree after the filesystem in the same file, padded to whole MiB; salt and UUID from `seed`. */
export async function appendVerity(image: string, hashOffset: number, seed: string, info: (m: string) => void): Promise<VerityRecord> {
  info('veritysetup format (sha256 hash tree after the filesystem)');
  const { stdout } = await run(
    VERITYSETUP,
    veritysetupFormatArgs({ image, hashOffset, salt: sha256(`${seed}\0salt`), uuid: uuidFrom(sha256(`${seed}\0verity`)) }),
  );
  await truncate(image, Math.ceil((await stat(image)).size / MiB) * MiB);
  return { rootHash: parseRootHash(stdout), hashOffset };
}
