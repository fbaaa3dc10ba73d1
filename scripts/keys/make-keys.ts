import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { run } from '../../common/exec.ts';
import { writeAtomically } from '../lib/atomic.ts';

/** The firmware's three Secure Boot variables, each signed by the one above it (PK by itself). */
export const FIRMWARE_KEYS = ['PK', 'KEK', 'db'] as const;
type FirmwareKey = (typeof FIRMWARE_KEYS)[number];
const SIGNER: Record<FirmwareKey, FirmwareKey> = { PK: 'PK', KEK: 'PK', db: 'KEK' };

export interface Command {
  cmd: string;
  args: string[];
}

/**
 * The command lines that make a key set in `dir`: openssl for each key and certificate, then
 * efitools' signature lists (.esl) and signed updates (.auth) that a firmware in setup mode
 * enrolls, and DER copies (.cer) for firmware menus that take certificates only.
 * RSA-2048 for the firmware keys: the size every UEFI implementation verifies.
 */
export function keyCommands(dir: string, commonName: string, owner: string, days = 3650): Command[] {
  const out: Command[] = [];
  const cert = (name: string, bits: number, cn: string, ext: string[]) =>
    out.push({
      cmd: 'openssl',
      args: [
        'req',
        '-new',
        '-x509',
        '-newkey',
        `rsa:${bits}`,
        '-nodes',
        '-sha256',
        '-days',
        String(days),
        '-subj',
        `/CN=${cn}/`,
        ...ext.flatMap((e) => ['-addext', e]),
        '-keyout',
        join(dir, `${name}.key`),
        '-out',
        join(dir, `${name}.crt`),
      ],
    });
  for (const k of FIRMWARE_KEYS) cert(k, 2048, `${commonName} ${k}`, []);
  // The kernel checks module signatures against this certificate, compiled into the kernel.
  cert('module', 4096, `${commonName} kernel modules`, ['keyUsage=digitalSignature', 'extendedKeyUsage=codeSigning']);
  for (const k of FIRMWARE_KEYS) {
    out.push({ cmd: 'cert-to-efi-sig-list', args: ['-g', owner, join(dir, `${k}.crt`), join(dir, `${k}.esl`)] });
    const s = SIGNER[k];
    out.push({
      cmd: 'sign-efi-sig-list',
      args: ['-g', owner, '-k', join(dir, `${s}.key`), '-c', join(dir, `${s}.crt`), k, join(dir, `${k}.esl`), join(dir, `${k}.auth`)],
    });
    out.push({ cmd: 'openssl', args: ['x509', '-in', join(dir, `${k}.crt`), '-outform', 'DER', '-out', join(dir, `${k}.cer`)] });
  }
  return out;
}

export const KEYS_README = `aiOS key set, made by \`aios keys\`. Keep the .key files secret and out of git.

PK, KEK, db   the firmware's Secure Boot keys: db signs the unified kernel image (UKI).
              *.auth: signed updates for a firmware in setup mode (efi-updatevar, KeyTool);
              *.esl: signature lists; *.cer: DER certificates for firmware setup menus.
              Enroll db, then KEK, then PK last (enrolling PK leaves setup mode).
module        the kernel's module-signing key: its certificate is built into the kernel,
              and every module of the image is signed with it.
owner-guid    the owner GUID of the signature lists.

Point a project at this directory with "secureBoot": { "keys": "<dir>" } in aios.json.
`;

/** Make a new key set in `dir` (which must not exist): written beside it and renamed into place. */
export async function makeKeySet(dir: string, commonName: string, info: (m: string) => void): Promise<void> {
  const target = resolve(dir);
  if (existsSync(target)) throw new Error(`${target} exists: aios keys never overwrites keys; choose another directory or remove that one yourself`);
  await writeAtomically(target, async (tmp) => {
    await mkdir(tmp, { mode: 0o700 });
    const owner = randomUUID();
    for (const c of keyCommands(tmp, commonName, owner)) {
      info(`${c.cmd} … ${c.args.at(-1)!.replace(`${tmp}/`, '')}`);
      await run(c.cmd, c.args);
    }
    await writeFile(join(tmp, 'owner-guid'), `${owner}\n`);
    await writeFile(join(tmp, 'README'), KEYS_README);
    for (const k of [...FIRMWARE_KEYS, 'module']) await chmod(join(tmp, `${k}.key`), 0o600);
  });
}
