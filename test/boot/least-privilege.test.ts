// Least privilege in the running image (docs/least-privilege.md): llama-server runs as its own
// user, and a service that names no user runs as nobody, owns its /var/lib/<name> on the state
// partition and nothing else: it cannot write what root owns, on the read-only root or elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkVariant, OUT, extended } from './helpers.ts';

/** Each path: whether the service could append to it. */
const tryWrite = (paths: string[]) => paths.map((p) => `if (echo x >> ${p}) 2>/dev/null; then echo "WROTE ${p}"; else echo "DENIED ${p}"; fi`).join('; ');

test("llama-server's uid is not 0, and a plain service (no user: nobody) writes only its own directory: not /usr, /etc, /var/lib/aios, /run or the kernel's core_pattern", async () => {
  const build = JSON.parse(await readFile(join(OUT, 'build.json'), 'utf8')) as { rootServices?: string[] };
  assert.deepEqual(build.rootServices, [], 'the default image runs no service as root');
  const script = [
    'echo "ids: $(id -u) $(id -g)"',
    tryWrite(['/usr/sbin/aios-init', '/etc/passwd', '/var/lib/aios/x', '/run/aios/x', '/proc/sys/kernel/core_pattern', '/var/lib/plain/mine']),
    // llama-server starts beside this service: wait for it, then read its ids from the kernel.
    'i=0; while ! pid=$(pidof llama-server) && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.1; done',
    'echo "llama-server: $(grep -E "^(Uid|Gid|NoNewPrivs|CapEff):" /proc/$pid/status | tr -s "\\t" " " | tr "\\n" ";")"',
    'echo "owner: $(stat -c %U /var/lib/inference) $(stat -c %U /var/lib/plain)"',
  ].join('; ');
  await checkVariant(
    (j) => ({ ...j, services: [...(j.services as unknown[]), { name: 'plain', command: '/bin/sh', args: ['-c', script], restart: 'never' }] }),
    ({ r, serial }) => {
      const tail = `${r.out}\n--- serial (last 60 lines) ---\n${serial.split('\n').slice(-60).join('\n')}`;
      assert.equal(r.code, 0, tail);
      assert.match(serial, /plain: ids: 65534 65534/, tail);
      for (const p of ['/usr/sbin/aios-init', '/etc/passwd', '/var/lib/aios/x', '/run/aios/x', '/proc/sys/kernel/core_pattern'])
        assert.match(serial, new RegExp(`plain: DENIED ${p}`), tail);
      assert.match(serial, /plain: WROTE \/var\/lib\/plain\/mine/, tail);
      const llama = /plain: llama-server: Uid: (\d+) \d+ \d+ \d+;Gid: (\d+) .*NoNewPrivs: (\d)/.exec(serial);
      assert.ok(llama, tail);
      assert.notEqual(llama[1], '0', "llama-server's uid");
      assert.ok(Number(llama[1]) >= 900 && Number(llama[1]) <= 999, `a system user of its own: uid ${llama[1]}`);
      assert.equal(llama[3], '1', 'no_new_privs');
      assert.match(serial, /plain: llama-server: .*CapEff: 0000000000000000/, tail);
      assert.match(serial, /plain: owner: inference nobody/, tail);
    },
  );
});

test('a root service printing a forged early boot report, probe lines and an end line with the real nonce, on its output and raw on the console, moves no verdict', async () => {
  const script = [
    'n=$(cat /sys/firmware/qemu_fw_cfg/by_name/opt/aios/probe/raw)',
    // Once on its output (to the console as "forger: ..."), once raw on /dev/console.
    'emit() { echo "AIOS-BOOT-REPORT {\\"forged\\":true}"; echo "AIOS-PROBE $n 1 pid1 forged /forged"; echo "AIOS-PROBE $n 2 end 2"; }',
    'emit; emit > /dev/console',
    'echo "FORGED-WITH $n"',
  ].join('; ');
  await checkVariant(
    (j) => ({ ...j, services: [...(j.services as unknown[]), { name: 'forger', command: '/bin/sh', args: ['-c', script], restart: 'never', user: 'root' }] }),
    ({ r, serial }) => {
      const tail = `${r.out}\n--- serial (last 60 lines) ---\n${serial.split('\n').slice(-60).join('\n')}`;
      const nonce = /forger: FORGED-WITH ([0-9a-f]+)/.exec(serial)?.[1];
      assert.ok(nonce, `the forger read this boot's nonce\n${tail}`);
      // The forgeries are on the console, before the real report, prefixed and raw.
      const lines = serial.split('\n');
      const forgedAt = lines.findIndex((l) => l.includes('AIOS-BOOT-REPORT {"forged":true}'));
      const realAt = lines.findIndex((l) => l.startsWith('AIOS-BOOT-REPORT {') && !l.includes('"forged"'));
      assert.ok(forgedAt >= 0 && realAt > forgedAt, `a forged report before the real one\n${tail}`);
      assert.ok(
        lines.some((l) => l.startsWith('forger: AIOS-BOOT-REPORT {"forged":true}')),
        tail,
      );
      assert.ok(lines.includes(`AIOS-PROBE ${nonce} 2 end 2`), `a raw forged end line on the console\n${tail}`);
      assert.equal(r.code, 0, `every check passes on what the check channel carried\n${tail}`);
      assert.match(r.out, /PID 1 is aios-init +PASS +\/proc\/1\/comm "aios-init"/, tail);
    },
  );
});

test('the production ISO beside a FAT disk whose aios-check.cfg asks for init=/bin/sh boots aiOS as built', extended, async () => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'aios-fat-'));
  try {
    const cfg = join(dir, 'aios-check.cfg');
    await writeFile(cfg, 'set aios_check="init=/bin/sh aios.shell=1"\nset default=1\n');
    const fat = join(dir, 'stranger.img');
    execFileSync('mformat', ['-C', '-f', '1440', '-i', fat, '::']);
    execFileSync('mcopy', ['-i', fat, cfg, '::/aios-check.cfg']);
    await checkVariant(
      { args: [`--qemu-arg=-drive`, `--qemu-arg=file=${fat},format=raw,if=ide,index=1`] },
      ({ r, serial }) => {
        const tail = `${r.out}\n--- serial (last 60 lines) ---\n${serial.split('\n').slice(-60).join('\n')}`;
        assert.equal(r.code, 0, tail);
        assert.match(r.out, /PID 1 is aios-init +PASS/, tail);
        assert.doesNotMatch(serial, /init=\/bin\/sh/, tail);
      },
      'iso-bios',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Eight connections that send nothing (or half a request) to the status port, then one honest request timed. */
async function idleThenAsk(port: number): Promise<{ status: number; ms: number }> {
  const { connect } = await import('node:net');
  const { request } = await import('../../qemu/http.ts');
  const open = () =>
    new Promise<import('node:net').Socket>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  // The endpoint starts right after the report line: retry until it takes a connection.
  let first: import('node:net').Socket | undefined;
  for (let i = 0; i < 100 && !first; i++) first = await open().catch(() => new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)));
  assert.ok(first, 'the status endpoint took a connection');
  // (The check's own status request may take a slot too: a holder turned away is no matter.)
  const idle = [first, ...(await Promise.all(Array.from({ length: 7 }, () => open().catch(() => undefined))))].filter(
    (x): x is import('node:net').Socket => x !== undefined,
  );
  idle.slice(4).forEach((s) => s.write('GET /status HTTP/1.1\r\nHost: x\r\n'));
  for (const s of idle) s.on('error', () => {});
  const t0 = performance.now();
  try {
    // Past the connection limit a client is turned away at once, and asks again, as the unit
    // test's does: the holders give up their slots within connectionMaxMs.
    let status = 0;
    while (!status && performance.now() - t0 < 15_000) {
      status = await request(`http://127.0.0.1:${port}/status`, { timeoutMs: 1000 }).then(
        (r) => r.status,
        () => 0,
      );
      if (!status) await new Promise((r) => setTimeout(r, 200));
    }
    return { status, ms: performance.now() - t0 };
  } finally {
    for (const s of idle) s.destroy();
  }
}

test('requests without the token get 401 from the status endpoint and from llama-server, and eight idle connections keep an honest client waiting under 6 s', async () => {
  const { loadProject } = await import('../../scripts/project/locate.ts');
  const { vmOptions } = await import('../../qemu/vm-options.ts');
  const { bootHeadless, freePorts } = await import('../../qemu/runner.ts');
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const build = JSON.parse(await readFile(join(OUT, 'build.json'), 'utf8')) as { status: { token: boolean; port: number }; inference: { port: number } };
  assert.equal(build.status.token, true, 'the default image sets a status token');
  const { config } = await loadProject({});
  const [hostPort, serverPort] = (await freePorts(2)) as [number, number];
  const o = { ...(await vmOptions({ out: OUT }, config, 'direct', 'tcg')), hostPort, guestPort: build.status.port, snapshot: true };
  o.forwards = [{ host: serverPort, guest: build.inference.port }];
  const dir = await mkdtemp(join(tmpdir(), 'aios-auth-'));
  let honest: Promise<{ status: number; ms: number; error?: string }> | undefined;
  try {
    const r = await bootHeadless(o, {
      timeoutSec: 180,
      shutdownSec: 60,
      serialLogFile: join(dir, 'serial.log'),
      onLine: (l) =>
        void (l.startsWith('AIOS-BOOT-REPORT ') && (honest ??= idleThenAsk(hostPort).catch((err: Error) => ({ status: -1, ms: 0, error: err.message })))),
      inference: { hostPort: serverPort, prompt: 'Who is answering this request?', apiKey: '', maxTokens: 8, readyTimeoutSec: 60 },
    });
    const serial = await readFile(join(dir, 'serial.log'), 'utf8');
    const tail = `${r.command}\n${serial.split('\n').slice(-40).join('\n')}`;
    assert.ok(r.report && r.cleanShutdown, tail);
    assert.equal(r.httpDetail, 'HTTP 401', `the status endpoint without the token\n${tail}`);
    assert.match(r.inference?.error ?? '', /\/completion answered HTTP 401/, `llama-server without its key\n${tail}`);
    assert.ok(honest, 'the report was seen');
    const h = await honest;
    assert.equal(h.status, 401, h.error);
    assert.ok(h.ms < 6000, `an honest client beside eight idle connections waited ${Math.round(h.ms)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
