import { mkdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { integrityOf } from '../lib/hash.ts';
import { download, type DownloadOptions } from './download.ts';

/** A package version on an npm registry, pinned by the registry's `dist.integrity` (SRI, sha512). */
export interface NpmPin {
  pkg: string;
  version: string;
  integrity: string;
}

export function npmTarballUrl(registry: string, pkg: string, version: string): string {
  const base = pkg.split('/').pop();
  return `${registry.replace(/\/+$/, '')}/${pkg}/-/${base}-${version}.tgz`;
}

export interface NpmFetchOptions {
  cacheDir: string;
  registry: string;
  pin: NpmPin;
  /** Where the pin is written, for the error a mismatch gives. */
  pinFile: string;
  info: (m: string) => void;
  onProgress?: DownloadOptions['onProgress'];
}

/**
 * The package tarball in `<cache>/downloads`, downloaded once. It is taken only when it hashes to
 * the pinned integrity, there and on every later use; a download that does not is deleted.
 */
export async function fetchNpmTarball(o: NpmFetchOptions): Promise<{ tgz: string; url: string }> {
  const { pin } = o;
  const url = npmTarballUrl(o.registry, pin.pkg, pin.version);
  const downloads = join(o.cacheDir, 'downloads');
  await mkdir(downloads, { recursive: true });
  const tgz = join(downloads, `${pin.pkg.replace('/', '-')}-${pin.version}.tgz`);
  if (existsSync(tgz) && (await integrityOf(tgz)) === pin.integrity) return { tgz, url };
  await rm(tgz, { force: true });
  o.info(`downloading ${url}`);
  const part = `${tgz}.download`;
  await download(url, part, { onProgress: o.onProgress });
  const got = await integrityOf(part);
  if (got !== pin.integrity) {
    await rm(part, { force: true });
    throw new Error(`integrity mismatch for ${url}: the pin (${o.pinFile}) says ${pin.integrity}, the download is ${got}; deleted`);
  }
  await rename(part, tgz);
  return { tgz, url };
}
