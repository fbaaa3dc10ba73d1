import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  EFI_STUB,
  peChecksum,
  peLayout,
  pinPeTimestamp,
  sbsignArgs,
  sbsignEnv,
  ukiCmdline,
  ukiObjcopyArgs,
  type UkiSection,
} from '../../../scripts/images/uki.ts';
import { scratchDir } from '../scratch.ts';

test('sections are placed page-aligned after the stub and after each other, never overlapping', () => {
  const sections: UkiSection[] = [
    { name: '.osrel', file: '/o/os-release', bytes: 100 },
    { name: '.cmdline', file: '/o/cmdline', bytes: 4096 },
    { name: '.initrd', file: '/o/initrd', bytes: 5_000_000 },
    { name: '.linux', file: '/o/bzImage', bytes: 12_000_000 },
  ];
  const a = ukiObjcopyArgs('/stub', { imageBase: 0n, sizeOfImage: 0x19300 }, sections, '/o/uki.efi');
  const vmas = a.filter((x, i) => a[i - 1] === '--change-section-vma').map((x) => BigInt(x.split('=')[1]!));
  assert.deepEqual(vmas.slice(0, 2), [0x1a000n, 0x1b000n]);
  vmas.forEach((v, i) => {
    assert.equal(v % 0x1000n, 0n);
    if (i) assert.ok(v >= vmas[i - 1]! + BigInt(sections[i - 1]!.bytes), `${sections[i]!.name} after ${sections[i - 1]!.name}`);
  });
  assert.deepEqual(a.slice(-2), ['/stub', '/o/uki.efi']);
  assert.match(ukiCmdline('root=live:LABEL=AIOS ro'), /lockdown=integrity$/);
});

test("the PE header of Debian's systemd EFI stub reads as PE32+; anything else is refused", async () => {
  const l = peLayout(await readFile(EFI_STUB));
  assert.ok(l.sizeOfImage > 0x1000);
  assert.throws(() => peLayout(Buffer.alloc(256)), /no MZ header/);
});

test('a UKI built and signed twice with the same key is byte-identical, sbverify accepts it, and one changed byte breaks the signature', async () => {
  const dir = scratchDir('aios-uki-');
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=uki test/',
      '-keyout',
      join(dir, 'db.key'),
      '-out',
      join(dir, 'db.crt'),
    ],
    {
      stdio: 'ignore',
    },
  );
  const parts: [UkiSection['name'], string][] = [
    ['.osrel', 'ID=aios\n'],
    ['.cmdline', 'root=live:LABEL=AIOS ro\0'],
    ['.initrd', 'initrd bytes'],
    ['.linux', 'kernel bytes'],
  ];
  const sections: UkiSection[] = [];
  for (const [name, text] of parts) {
    const file = join(dir, name.slice(1));
    await writeFile(file, text);
    sections.push({ name, file, bytes: text.length });
  }
  const layout = peLayout(await readFile(EFI_STUB));
  const signed: Buffer[] = [];
  for (const n of [1, 2]) {
    execFileSync('objcopy', ukiObjcopyArgs(EFI_STUB, layout, sections, join(dir, `u${n}.efi`)));
    const made = await readFile(join(dir, `u${n}.efi`));
    // objcopy's own checksum is what ours computes; then the stamp goes to the epoch.
    assert.equal(peChecksum(made), made.readUInt32LE(made.readUInt32LE(0x3c) + 88));
    await writeFile(join(dir, `u${n}.efi`), pinPeTimestamp(made, 1700000000));
    execFileSync('sbsign', sbsignArgs({ key: join(dir, 'db.key'), cert: join(dir, 'db.crt'), input: join(dir, `u${n}.efi`), output: join(dir, `s${n}.efi`) }), {
      stdio: 'ignore',
      env: { ...process.env, ...sbsignEnv(1700000000) },
    });
    // Both objcopy's stamp and sbsign's signing time would differ in the next second.
    if (n === 1) await new Promise((r) => setTimeout(r, 1100));
    signed.push(await readFile(join(dir, `s${n}.efi`)));
  }
  assert.ok(signed[0]!.equals(signed[1]!), 'the same inputs and key give the same signed bytes');
  execFileSync('sbverify', ['--cert', join(dir, 'db.crt'), join(dir, 's1.efi')], { stdio: 'ignore' });
  const sections1 = execFileSync('objdump', ['-h', join(dir, 's1.efi')], { encoding: 'utf8' });
  assert.match(execFileSync('objdump', ['-p', join(dir, 's1.efi')], { encoding: 'utf8' }), /Time\/Date\s+Tue Nov 14 22:13:20 2023/);
  for (const [name] of parts) assert.match(sections1, new RegExp(`\\${name}\\s`));
  const bad = Buffer.from(signed[0]!);
  const at = bad.indexOf('kernel bytes');
  bad[at] = bad[at]! ^ 1;
  await writeFile(join(dir, 'bad.efi'), bad);
  assert.notEqual(spawnSync('sbverify', ['--cert', join(dir, 'db.crt'), join(dir, 'bad.efi')]).status, 0);
});
