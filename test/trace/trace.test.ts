// The kernel.trace variant end to end (examples/trace-project): a second kernel with BPF, probes
// and BTF, Debian's bpftrace in the image, and llama-server's decode latency traced with uprobes.
// Apart from test:boot (`npm run test:trace`): the variant is a kernel build of its own, some
// 40 minutes from a cold cache here, which CI's time limit has no room for. test:boot checks that
// every symbol of the variant lands (`aios config`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUT, ROOT, aios, partitionOf, qemuProcesses, withShell } from '../boot/helpers.ts';

const EXAMPLE = join(ROOT, 'examples', 'trace-project');
const TRACE_OUT = process.env.AIOS_TRACE_OUT ?? join(EXAMPLE, 'out');
const SYMBOLS = ['BPF_SYSCALL', 'KPROBES', 'UPROBE_EVENTS', 'BPF_EVENTS', 'FUNCTION_TRACER', 'DEBUG_INFO_BTF'];

test('kernel.trace builds a kernel of its own with BPF, probes and BTF; the default kernel has none of them', async () => {
  const b = await aios(['build', '--project', EXAMPLE, '--out', TRACE_OUT]);
  assert.equal(b.code, 0, b.out.slice(-4000));
  const built = JSON.parse(await readFile(join(TRACE_OUT, 'build.json'), 'utf8')) as { kernel: { trace: boolean; release: string } };
  assert.equal(built.kernel.trace, true);
  const traced = await readFile(join(TRACE_OUT, 'kernel.config'), 'utf8');
  const plain = await readFile(join(OUT, 'kernel.config'), 'utf8');
  for (const s of SYMBOLS) {
    assert.match(traced, new RegExp(`^CONFIG_${s}=y$`, 'm'), s);
    assert.doesNotMatch(plain, new RegExp(`^CONFIG_${s}=y$`, 'm'), `${s} stays out of the default kernel`);
  }
  const manifest = await readFile(join(TRACE_OUT, 'manifest.json'), 'utf8');
  for (const path of ['/usr/bin/bpftrace', '/usr/local/share/bpftrace/llama-decode.bt']) assert.ok(manifest.includes(`"${path}"`), path);
  // The NVIDIA modules are built against this kernel, so they carry BTF too (bpftrace can then
  // name their functions' argument types); the default image's do not.
  assert.deepEqual(await btfSections(TRACE_OUT, built.kernel.release), { 'nvidia.ko': true, 'nvidia-uvm.ko': true });
  assert.deepEqual(await btfSections(OUT, built.kernel.release), { 'nvidia.ko': false, 'nvidia-uvm.ko': false });
});

/** Whether each NVIDIA module in an image's rootfs.img has a .BTF section (read on the host with debugfs). */
async function btfSections(out: string, release: string): Promise<Record<string, boolean>> {
  const dir = await mkdtemp(join(tmpdir(), 'aios-btf-'));
  try {
    const part = join(dir, 'part.img');
    partitionOf(join(out, 'rootfs.img'), part);
    execFileSync('/sbin/debugfs', ['-R', `rdump /lib/modules/${release}/extra ${dir}`, part], { stdio: 'ignore' });
    const has = (m: string) => /\s\.BTF\s/.test(execFileSync('readelf', ['-S', '-W', join(dir, 'extra', m)], { encoding: 'utf8' }));
    return { 'nvidia.ko': has('nvidia.ko'), 'nvidia-uvm.ko': has('nvidia-uvm.ko') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the trace image passes aios check', async () => {
  const c = await aios(['check', '--project', EXAMPLE, '--out', TRACE_OUT, '--path', 'direct', '--accel', 'tcg']);
  const serial = await readFile(join(TRACE_OUT, 'logs', 'serial-direct.log'), 'utf8').catch(() => '');
  assert.equal(c.code, 0, `${c.out}\n--- serial ---\n${serial.slice(-3000)}`);
  assert.deepEqual(await qemuProcesses(TRACE_OUT), []);
});

test('bpftrace in the guest times llama_decode through uprobes while llama-server answers a completion', async () => {
  await withShell(['--project', EXAMPLE], TRACE_OUT, async (vm) => {
    await vm.waitFor(/inference: ready/);
    vm.type('echo TRACEFS-$(grep -c " /sys/kernel/tracing tracefs " /proc/mounts)-BTF-$(test -s /sys/kernel/btf/vmlinux && echo 1)\n');
    await vm.waitFor(/TRACEFS-1-BTF-1\r?\n/, 30_000);
    const t0 = performance.now();
    vm.type('bpftrace /usr/local/share/bpftrace/llama-decode.bt & echo BPFTRACE-$!\n');
    // LLVM compiles the script in the guest, slowly under TCG. "Attaching" comes before the
    // probes are attached; the script's BEGIN line after.
    await vm.waitFor(/Attaching 3 probes\.\.\.\r?\ntracing llama_decode in llama-server/, 300_000);
    console.log(`bpftrace: probes attached ${((performance.now() - t0) / 1000).toFixed(1)} s after the command was typed`);
    vm.type(`echo COMPLETION-$(wget -q -O - --post-data '{"prompt":"Hello","n_predict":4}' http://127.0.0.1:8081/completion | grep -c '"content"')\n`);
    await vm.waitFor(/COMPLETION-1\r?\n/, 120_000);
    await vm.waitFor(/llama_decode \d+ us\r?\n/, 60_000);
    vm.type('kill -INT %1\n');
    await vm.waitFor(/@decode_us:\s*\r?\n\[/, 60_000);
    // One call for the prompt's batch, then one per generated token.
    const calls = vm.text().match(/llama_decode \d+ us/g) ?? [];
    assert.ok(calls.length >= 2, `llama_decode calls seen: ${calls.length}\n${vm.text().slice(-3000)}`);
  });
  assert.deepEqual(await qemuProcesses(TRACE_OUT), []);
});
