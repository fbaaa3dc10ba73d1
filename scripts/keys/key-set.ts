import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../common/exec.ts';
import { sha256 } from '../lib/hash.ts';

/** Debian's OVMF test key: OVMF_VARS_4M.snakeoil.fd trusts it as PK, KEK and db. Its passphrase is in the package's README. */
export const SNAKEOIL = { key: '/usr/share/ovmf/PkKek-1-snakeoil.key', cert: '/usr/share/ovmf/PkKek-1-snakeoil.pem', passphrase: 'snakeoil' };

/** What a build signs with: the UKI with db, the kernel's modules with the module key. */
export interface KeySet {
  /** The directory named by secureBoot.keys, or `snakeoil`. */
  name: string;
  dbKey: string;
  dbCert: string;
  moduleKey: string;
  moduleCert: string;
  /** Debian's public test key: fit for QEMU and CI, never for a real machine. */
  test: boolean;
  /** sha256 of the certificates: what a cache key and build.json name (never the private keys' bytes). */
  certSha256: { db: string; module: string };
}

/** The files of a key set that a build needs, in the layout `aios keys` writes. */
export const BUILD_KEY_FILES = ['db.key', 'db.crt', 'module.key', 'module.crt'] as const;

/** What `dir` lacks of a key set: each missing file, by name. */
export function missingKeyFiles(dir: string): string[] {
  return BUILD_KEY_FILES.filter((f) => !existsSync(join(dir, f)));
}

/**
 * The build's keys: the key set at `dir` (secureBoot.keys, already resolved against aios.json),
 * or, when none is named, Debian's snakeoil test key for both roles, decrypted once into the cache.
 */
export async function resolveKeySet(dir: string | undefined, cacheDir: string): Promise<KeySet> {
  if (dir) {
    const missing = missingKeyFiles(dir);
    if (missing.length)
      throw new Error(
        `secureBoot.keys: ${dir} is not a key set: it has no ${missing.join(', ')}. Make one with \`aios keys ${dir}\`, or give the directory \`aios keys\` made.`,
      );
    const f = (n: string) => join(dir, n);
    return withCertHashes({ name: dir, dbKey: f('db.key'), dbCert: f('db.crt'), moduleKey: f('module.key'), moduleCert: f('module.crt'), test: false });
  }
  for (const p of [SNAKEOIL.key, SNAKEOIL.cert])
    if (!existsSync(p)) throw new Error(`${p} is missing: install Debian's ovmf package (\`aios doctor\`), or name your own keys with secureBoot.keys`);
  const plain = join(cacheDir, 'keys', 'snakeoil.key');
  if (!existsSync(plain)) {
    await mkdir(join(cacheDir, 'keys'), { recursive: true, mode: 0o700 });
    const { stdout } = await run('openssl', ['pkey', '-in', SNAKEOIL.key, '-passin', `pass:${SNAKEOIL.passphrase}`]);
    await writeFile(plain, stdout, { mode: 0o600 });
    await chmod(plain, 0o600);
  }
  return withCertHashes({ name: 'snakeoil', dbKey: plain, dbCert: SNAKEOIL.cert, moduleKey: plain, moduleCert: SNAKEOIL.cert, test: true });
}

async function withCertHashes(k: Omit<KeySet, 'certSha256'>): Promise<KeySet> {
  return { ...k, certSha256: { db: sha256(await readFile(k.dbCert)), module: sha256(await readFile(k.moduleCert)) } };
}

/** The PEM the kernel's build signs modules with (CONFIG_MODULE_SIG_KEY): private key, then certificate. */
export async function modulePem(k: KeySet): Promise<string> {
  return `${(await readFile(k.moduleKey, 'utf8')).trim()}\n${(await readFile(k.moduleCert, 'utf8')).trim()}\n`;
}
