// What aios run --gdb says of the kernel it boots, from build.json's kernel record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gdbKernelNote } from '../../../qemu/gdb-note.ts';

test('the gdb note follows the kernel variants: debug with or without its scripts, trace (DWARF for BTF), plain', () => {
  assert.match(gdbKernelNote({ debug: true, gdbScripts: '/c/gdb' }, '/c/gdb'), /lx-dmesg/);
  assert.match(gdbKernelNote({ debug: true, gdbScripts: '/c/gdb' }, undefined), /\/c\/gdb\) are gone from the cache: rebuild/);
  assert.match(gdbKernelNote({ debug: true, trace: true, gdbScripts: '/c/gdb' }, '/c/gdb'), /lx-dmesg/);
  assert.match(gdbKernelNote({ trace: true }, undefined), /^DWARF \(the kernel\.trace variant\).*kernel\.debug too/);
  assert.match(gdbKernelNote({}, undefined), /^Symbols only/);
  assert.match(gdbKernelNote(undefined, undefined), /^Symbols only/);
});
