// The addon's spawn and waitpid on real processes (no root needed; cgroups are the boot tests' part).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { realAddon } from './real-addon.ts';
import { scratchDir } from '../scratch.ts';

/** Start `sh -c script`, collect its output and its wait status. */
async function run(script: string, env: string[] = [], stdin = -1): Promise<{ out: string; status: number }> {
  const sys = realAddon();
  const [r, w] = sys.pipe();
  const pid = sys.spawn('/bin/sh', ['sh', '-c', script], env, [stdin, w, w], -1, -1, 0, [], '', '');
  closeSync(w);
  let out = '';
  const buf = Buffer.alloc(4096);
  for (let n = readSync(r, buf); n > 0; n = readSync(r, buf)) out += buf.subarray(0, n).toString();
  closeSync(r);
  for (let i = 0; i < 250; i++) {
    const done = sys.waitpid(pid);
    if (done) return { out, status: done.status };
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`pid ${pid} did not end`);
}

test('spawn: argv, exactly the given environment, output on the pipe, the exit status from waitpid', async () => {
  const { out, status } = await run('echo "$0 $1 FOO=$FOO HOME=${HOME-unset}"; echo err >&2; exit 3', ['FOO=bar']);
  assert.equal(out, 'sh  FOO=bar HOME=unset\nerr\n');
  assert.equal(status >> 8, 3);
});

test('spawn: the child gets no signal ignored or blocked from Node, no descriptor but 0-2, and /dev/null for -1', async () => {
  const { out } = await run('grep -E "^Sig(Ign|Blk)" /proc/self/status; ls /proc/self/fd; readlink /proc/self/fd/0');
  const lines = out.trim().split('\n');
  assert.deepEqual(lines.slice(0, 2), ['SigBlk:\t0000000000000000', 'SigIgn:\t0000000000000000'], 'Node ignores SIGPIPE; the service must not');
  // ls itself holds one descriptor for the directory it lists.
  assert.deepEqual(lines.slice(2, -1).map(Number).sort(), [0, 1, 2, 3]);
  assert.equal(lines.at(-1), '/dev/null');
});

test('spawn: a file as stdin; descriptors already at 0-2 in other slots are not lost', async () => {
  const dir = scratchDir('aios-spawn-');
  writeFileSync(join(dir, 'in'), 'from the file\n');
  const fd = openSync(join(dir, 'in'), 'r');
  try {
    assert.equal((await run('cat', [], fd)).out, 'from the file\n');
  } finally {
    closeSync(fd);
  }
});

test('spawn: a program that cannot be run throws its exec errno and leaves no child behind', () => {
  const sys = realAddon();
  const dir = scratchDir('aios-spawn-');
  writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\n', { mode: 0o644 });
  assert.throws(() => sys.spawn(join(dir, 'missing'), ['x'], [], [-1, -1, -1], -1, -1, 0, [], '', ''), {
    code: 'ENOENT',
    message: `${join(dir, 'missing')}: No such file or directory`,
  });
  assert.throws(() => sys.spawn(join(dir, 'not-executable'), ['x'], [], [-1, -1, -1], -1, -1, 0, [], '', ''), { code: 'EACCES' });
  assert.equal(sys.waitpid(-1), null, 'the failed child was reaped by spawn itself');
});

test('spawn: a descriptor that is not a cgroup2 directory is refused, naming the cgroup', () => {
  const sys = realAddon();
  const fd = openSync(scratchDir('aios-notcg-'), 'r');
  try {
    assert.throws(() => sys.spawn('/bin/true', ['true'], [], [-1, -1, -1], fd, -1, 0, [], '', ''), /clone3 into the cgroup: /);
  } finally {
    closeSync(fd);
  }
});

test('after a spawn PID 1 writes its heap without a page fault: no fork left it copy-on-write', () => {
  const sys = realAddon();
  const heap = Buffer.alloc(32 << 20);
  const touch = (v: number) => {
    for (let o = 0; o < heap.length; o += 4096) heap[o] = v;
  };
  touch(1);
  const pid = sys.spawn('/bin/true', ['true'], [], [-1, -1, -1], -1, -1, 0, [], '', '');
  const faults = process.resourceUsage().minorPageFault;
  touch(2);
  const after = process.resourceUsage().minorPageFault - faults;
  while (!sys.waitpid(pid));
  // 8192 pages: after a fork each first write faults; after clone(CLONE_VM) none need to.
  assert.ok(after < 1024, `${after} page faults writing 32 MiB after a spawn`);
});

/** The fields of /proc/self/status matching `fields` in a child spawned with `keep` and `ids`. */
function selfStatus(keep: number, ids: number[], fields: string): Record<string, string> {
  const sys = realAddon();
  const [r, w] = sys.pipe();
  const pid = sys.spawn('/bin/sh', ['sh', '-c', `grep -E "^(${fields}):" /proc/self/status`], [], [-1, w, w], -1, keep, 0, ids, '', '');
  closeSync(w);
  let out = '';
  const buf = Buffer.alloc(4096);
  for (let n = readSync(r, buf); n > 0; n = readSync(r, buf)) out += buf.subarray(0, n).toString();
  closeSync(r);
  while (!sys.waitpid(pid));
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .map((l) => l.split(':\t').map((x) => x.trim()) as [string, string]),
  );
}

test('spawn: a service that keeps some capabilities has only those, in every set, with no_new_privs; -1 keeps all', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: only root has capabilities to keep');
  const show = (keep: number) => selfStatus(keep, [], 'Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs');

  // CAP_NET_BIND_SERVICE (10) and CAP_IPC_LOCK (14): 0x400 + 0x4000.
  const some = show(2 ** 10 + 2 ** 14);
  assert.deepEqual(some, {
    CapInh: '0000000000000000',
    CapPrm: '0000000000004400',
    CapEff: '0000000000004400',
    CapBnd: '0000000000004400',
    CapAmb: '0000000000000000',
    NoNewPrivs: '1',
  });
  assert.equal(show(0).CapBnd, '0000000000000000');
  const all = show(-1);
  assert.equal(all.NoNewPrivs, '0');
  assert.notEqual(all.CapBnd, '0000000000000000');
  assert.equal(all.CapEff, all.CapBnd, "root's own set, untouched");
});

test('spawn: the child runs at the nice value it is given, set before its capabilities go', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: a nice value below 0 needs CAP_SYS_NICE');
  const sys = realAddon();
  const niceOf = (nice: number, keep: number) => {
    const [r, w] = sys.pipe();
    // Field 19 of /proc/self/stat; the command name (field 2) holds no space here.
    const pid = sys.spawn('/bin/sh', ['sh', '-c', 'cut -d" " -f19 /proc/self/stat'], [], [-1, w, w], -1, keep, nice, [], '', '');
    closeSync(w);
    const buf = Buffer.alloc(64);
    const n = readSync(r, buf);
    closeSync(r);
    while (!sys.waitpid(pid));
    return Number(buf.subarray(0, n).toString().trim());
  };
  assert.equal(niceOf(0, -1), 0);
  assert.equal(niceOf(7, -1), 7);
  assert.equal(niceOf(-5, 0), -5, 'below 0, with no capability kept');
});

test('spawn: a service of another user runs with its uid, gid and groups for good, only the capabilities it keeps (ambient), and no_new_privs', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: only root can become another user');
  const sys = realAddon();
  const status = (keep: number, ids: number[]) => selfStatus(keep, ids, 'Uid|Gid|Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs');

  const none = status(-1, [65534, 65533, 65532]);
  assert.equal(none.Uid, '65534\t65534\t65534\t65534', 'real, effective, saved and file-system uid alike');
  assert.equal(none.Gid, '65533\t65533\t65533\t65533');
  assert.equal(none.Groups, '65532');
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(none[set], '0000000000000000', `${set}: "all" gives another user nothing`);
  assert.equal(none.NoNewPrivs, '1');
  // CAP_NET_BIND_SERVICE (10): kept across the exec as an ambient capability.
  const bind = status(2 ** 10, [65534, 65534]);
  assert.equal(bind.Groups, '', 'no supplementary group but those given');
  for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) assert.equal(bind[set], '0000000000000400', set);
  assert.equal(bind.NoNewPrivs, '1');
  assert.throws(() => sys.spawn('/bin/true', ['true'], [], [-1, -1, -1], -1, 0, 0, [1], '', ''), /ids: \[\] or \[uid, gid/);
  assert.throws(() => sys.spawn('/bin/true', ['true'], [], [-1, -1, -1], -1, 0, 0, [1, -1], '', ''), /each a uid or gid/);
});

test('spawn: a service in a directory it sees as / (chroot) runs its command from there, as its user, in its working directory', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root: chroot and another user');
  const sys = realAddon();
  const dir = scratchDir('aios-chroot-');
  chmodSync(dir, 0o755); // the new root, which its user must be able to enter
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'marker'), 'inside\n');
  const src = join(dir, 'where.c');
  // A static program: nothing of the host's libraries is inside the new root.
  writeFileSync(
    src,
    '#include <stdio.h>\n#include <unistd.h>\nint main(void){char b[256];FILE*f=fopen("/marker","r");char m[16]={0};if(f&&fgets(m,sizeof m,f)){}printf("%s %d %s",getcwd(b,sizeof b),(int)getuid(),m);return 0;}\n',
  );
  execFileSync('gcc', ['-static', '-O1', '-o', join(dir, 'bin/where'), src]);
  const [r, w] = sys.pipe();
  const pid = sys.spawn('/bin/where', ['where'], [], [-1, w, w], -1, 0, 0, [65534, 65534], dir, '/data');
  closeSync(w);
  const buf = Buffer.alloc(256);
  const n = readSync(r, buf);
  closeSync(r);
  while (!sys.waitpid(pid));
  assert.equal(buf.subarray(0, n).toString(), '/data 65534 inside\n');
  assert.throws(() => sys.spawn('/bin/where', ['where'], [], [-1, -1, -1], -1, 0, 0, [65534, 65534], dir, '/missing'), { code: 'ENOENT' });
});
