import { resolve } from 'node:path';
import { makeKeySet } from '../keys/make-keys.ts';

/** `aios keys DIR`: a new key set (PK, KEK, db, the module key) and the files a firmware enrolls. */
export async function keysCommand(args: { dir: string; name?: string }): Promise<number> {
  const dir = resolve(args.dir);
  await makeKeySet(dir, args.name ?? 'aiOS', (m) => console.log(`  ${m}`));
  console.log(
    [
      `made a key set in ${dir} (private keys mode 0600: keep them out of git and out of images)`,
      `use it:     "secureBoot": { "keys": "${args.dir}" } in aios.json`,
      `enroll it:  db.auth, KEK.auth, then PK.auth with efi-updatevar or KeyTool in the firmware's setup mode,`,
      `            or the .cer files in a firmware setup menu (docs/verified-boot.md)`,
    ].join('\n'),
  );
  return 0;
}
