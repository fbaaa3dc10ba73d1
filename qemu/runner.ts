import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FATAL_LINE, parseReportLine, type BootReport } from '../common/boot-report.ts';

/** OVMF's word that Secure Boot refused an image (a bad or missing signature), on the serial console. */
/** A console line without its terminal escapes (systemd-boot colours its errors): a check's detail is plain text. */
export const plainText = (line: string): string => line.replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '').trim();

/** The firmware refusing the boot loader, or systemd-boot's LoadImage refusing a slot's UKI (Secure Boot). */
export const FIRMWARE_REFUSED = /(BdsDxe: failed to load|Error loading \\EFI\\|Failed to execute ).*(Access Denied|Security Violation)/i;
import { parseProbe, PROBE_MARK } from '../common/probe.ts';
import { quoteCommand, run } from '../common/exec.ts';
import { diesWithAios, killOnExit } from '../common/cleanup.ts';
import { tempDir } from '../common/leftovers.ts';
import { qemuArgs, uefiFirmware, type Accel, type QemuOptions } from './cmdline.ts';
import { qmpCommand } from './qmp.ts';
import { followLines } from './channel.ts';
import { askCompletion, waitForHealth, type InferenceTarget } from './inference.ts';
import { request } from './http.ts';
import type { BootObservation } from './judge.ts';

export const QEMU = 'qemu-system-x86_64';

/** QEMU's command line, as aios starts it: a QEMU left behind keeps its CPUs busy. */
export function qemuSpawn(argv: readonly string[]): [string, string[]] {
  return diesWithAios(QEMU, argv);
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/**
 * `count` distinct free ports on 127.0.0.1, none of them in `avoid` (a port the user gave, such
 * as --gdb's): all are held open together, so that two picks cannot return the same port.
 */
export async function freePorts(count: number, avoid: readonly number[] = []): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const srv = createServer();
      held.push(srv);
      const port = await new Promise<number>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port));
      });
      if (!avoid.includes(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((srv) => new Promise((r) => srv.close(r))));
  }
}

/**
 * Does KVM answer? /dev/kvm can exist and still hang guests, so this boots the kernel for real
 * with a time limit and wants to see serial output; otherwise TCG it is.
 */
export async function probeKvm(kernel: string, limitMs = 8000): Promise<{ accel: Accel; why: string }> {
  if (!existsSync('/dev/kvm')) return { accel: 'tcg', why: '/dev/kvm does not exist' };
  return new Promise((resolve) => {
    const child = spawn(
      ...qemuSpawn([
        '-accel',
        'kvm',
        '-cpu',
        'host',
        '-machine',
        'pc',
        '-m',
        '256',
        '-display',
        'none',
        '-vga',
        'none',
        '-serial',
        'stdio',
        '-monitor',
        'none',
        '-no-reboot',
        '-nic',
        'none',
        '-kernel',
        kernel,
        '-append',
        'console=ttyS0 panic=-1',
      ]),
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(child);
    let done = false;
    const finish = (accel: Accel, why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ accel, why });
    };
    const timer = setTimeout(() => finish('tcg', `KVM probe boot printed nothing within ${limitMs / 1000} s (/dev/kvm hangs)`), limitMs);
    child.stdout.on('data', (d: Buffer) => {
      if (/Linux version|\S/.test(d.toString())) finish('kvm', 'KVM probe boot printed on the serial console');
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', () => finish('tcg', `KVM unusable: ${err.trim().split('\n').pop() ?? 'qemu exited'}`));
  });
}

/** A headless boot: what the judge needs (live is read SETTLE_MS after the report), and the run itself. */
export interface BootRun extends BootObservation {
  command: string;
  serialLog: string;
  lines: string[];
  exitCode: number | null;
}

async function httpStatus(port: number, token?: string): Promise<{ ok: boolean; detail: string; live?: BootReport }> {
  // A refused or reset connection is the guest's listener not up yet on a loaded machine (QEMU's
  // forward accepts on the host, then the guest answers its SYN with a reset): asked again for a
  // few seconds. An HTTP answer, whatever it is, is final.
  const deadline = performance.now() + STATUS_RETRY_MS;
  for (;;) {
    try {
      const res = await request(`http://127.0.0.1:${port}/status`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, timeoutMs: 10_000 });
      if (res.status !== 200) return { ok: false, detail: `HTTP ${res.status}` };
      const body = JSON.parse(res.body) as BootReport;
      return { ok: Boolean(body?.pid1), detail: `HTTP ${res.status}`, live: body };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if ((code === 'ECONNRESET' || code === 'ECONNREFUSED') && performance.now() < deadline) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      return { ok: false, detail: (err as Error).message };
    }
  }
}

/** How long a status endpoint that resets or refuses the connection is asked again. */
const STATUS_RETRY_MS = 8000;

/** The probe sleeps a second, reads, sleeps a second more and prints: this is plenty, even under TCG. */
export const PROBE_WAIT_MS = 20_000;
/** The live status (PID 1 settled after the boot, for its memory figure) is read this long after the report. */
export const SETTLE_MS = 1500;

/** Boot headless: wait for the report, probe the status port, power off through QMP, wait for exit. */
export async function bootHeadless(
  o: Omit<QemuOptions, 'interactive' | 'qmpSocket'>,
  run: {
    timeoutSec: number;
    shutdownSec: number;
    serialLogFile: string;
    onLine?: (l: string) => void;
    /** Ask llama-server for a completion through this forward (check 11). */
    inference?: InferenceTarget;
    /** The status endpoint's bearer token, when the image sets one. */
    statusToken?: string;
    /** This boot's probe nonce: its output is collected before power-off. */
    probeNonce?: string;
  },
): Promise<BootRun> {
  const { serialLogFile, onLine, inference, statusToken, probeNonce } = run;
  const limits = run;
  const scratch = await tempDir('qemu');
  const tmp = scratch.path;
  const qmpSocket = join(tmp, 'qmp.sock');
  let ovmfVars = o.ovmfVars;
  const firmware = uefiFirmware(o.path);
  if (firmware && !ovmfVars) {
    ovmfVars = join(tmp, 'OVMF_VARS.fd');
    await copyFile(firmware.vars, ovmfVars);
  }
  // aios check's boots: the report and the probe's lines come on a port of their own (ttyS1).
  const channel = probeNonce ? join(tmp, 'check-channel.log') : undefined;
  const args = qemuArgs({ ...o, ovmfVars, interactive: false, qmpSocket, checkChannel: channel });
  const command = quoteCommand(QEMU, args);
  const log = createWriteStream(serialLogFile);
  const t0 = performance.now();
  const child = spawn(...qemuSpawn(args), { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  const res: BootRun = { command, serialLog: serialLogFile, lines: [], cleanShutdown: false, shutdownDetail: '', exitCode: null };
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stdoutClosed = new Promise<void>((resolve) => child.stdout.once('close', () => resolve()));
  let gotReport: () => void = () => {};
  const reportSeen = new Promise<void>((r) => (gotReport = r));
  let probeEnded: () => void = () => {};
  const probeEnd = new Promise<void>((r) => (probeEnded = r));
  const probeEndLine = probeNonce ? new RegExp(`${PROBE_MARK} ${probeNonce} (\\d+) end \\1$`) : undefined;
  let gotFatal: () => void = () => {};
  const fatalSeen = new Promise<void>((r) => (gotFatal = r));
  child.stdout.once('data', () => (res.firstOutputSec = (performance.now() - t0) / 1000));
  const reportLine = (line: string) => {
    const parsed = parseReportLine(line);
    if (!parsed) return;
    if (res.report || res.reportError) return; // a second report is ignored
    if (parsed.ok) res.report = parsed.report;
    else res.reportError = parsed.error;
    res.reportSec = (performance.now() - t0) / 1000;
    gotReport();
  };
  createInterface({ input: child.stdout }).on('line', (raw) => {
    const line = raw.replace(/\r$/, '');
    log.write(`${line}\n`);
    res.lines.push(line.length > 2000 ? `${line.slice(0, 2000)}...` : line);
    onLine?.(line);
    if (FATAL_LINE.test(line)) gotFatal();
    if (FIRMWARE_REFUSED.test(line)) {
      res.firmwareRefusal ??= plainText(line);
      gotFatal();
    }
    // With a check channel, what the console says (services' lines among it) is for people only.
    if (!channel) reportLine(line);
  });
  const channelLines: string[] = [];
  const channelLog = channel ? createWriteStream(serialLogFile.replace(/(\.log)?$/, '-channel.log')) : undefined;
  const follow = !channel
    ? undefined
    : followLines(channel, (line) => {
        if (channelLog) channelLog.write(`${line}\n`);
        channelLines.push(line);
        if (probeEndLine?.test(line)) probeEnded();
        reportLine(line);
      });
  const timer = after(limits.timeoutSec * 1000, 'timeout' as const);
  const first = await Promise.race([
    reportSeen.then(() => 'report' as const),
    exited.then(() => 'exit' as const),
    fatalSeen.then(() => 'fatal' as const),
    timer,
  ]);
  try {
    if (first === 'report') {
      // From the report on, beside the waits below: when llama-server became ready is the host's
      // own observation, not the end of those waits.
      const healthy = inference && waitForHealth(inference, t0);
      if (o.hostPort) {
        await after(SETTLE_MS, undefined);
        const h = await httpStatus(o.hostPort, statusToken);
        res.httpOk = h.ok;
        res.httpDetail = h.detail;
        res.live = h.live;
      }
      if (probeNonce) await Promise.race([probeEnd, after(PROBE_WAIT_MS, undefined)]);
      if (inference && healthy) {
        res.inference = await askCompletion(inference, await healthy);
        // The model's load time and any failure reason are aios-init's words: informational only.
        if (o.hostPort) res.inference.initView = (await httpStatus(o.hostPort, statusToken)).live?.inference;
      }
      const powerdownAt = res.lines.length;
      const channelAt = channelLines.length;
      try {
        // QEMU's own word on how the machine ended (the SHUTDOWN event's reason), which nothing
        // in the guest can print: guest-shutdown is a power-off, guest-reset a reboot or a panic.
        await qmpCommand(qmpSocket, 'system_powerdown', 5000, (e) => {
          if (e.event === 'SHUTDOWN' && typeof e.data?.reason === 'string') res.shutdownReason ??= e.data.reason;
        });
      } catch (err) {
        res.shutdownDetail = (err as Error).message;
      }
      const how = await Promise.race([exited.then(() => 'exit' as const), after(limits.shutdownSec * 1000, 'timeout' as const)]);
      res.cleanShutdown = how === 'exit';
      // The kernel's last words come after QEMU's exit event: wait for the serial stream to end.
      await Promise.race([stdoutClosed, after(2000, undefined)]);
      res.powerOffLines = res.lines.slice(powerdownAt);
      if (probeNonce) res.probe = parseProbe(channelLines.slice(0, channelAt), probeNonce);
      res.shutdownDetail =
        how === 'exit'
          ? `QEMU exited by itself ${((performance.now() - t0) / 1000).toFixed(1)} s after start, after system_powerdown`
          : `QEMU still running ${limits.shutdownSec} s after system_powerdown: killed`;
    } else {
      res.shutdownDetail =
        first === 'exit'
          ? `QEMU exited before any boot report${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`
          : first === 'fatal'
            ? res.firmwareRefusal
              ? `the firmware refused to start the boot loader (${res.firmwareRefusal}): QEMU killed`
              : 'the boot failed before aios-init (stage 1 gave up or the kernel panicked): QEMU killed'
            : `no boot report within ${limits.timeoutSec} s: killed`;
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
    res.exitCode = await exited;
    follow?.stop();
    if (channelLog) channelLog.end();
    log.end();
    await scratch.release();
  }
  return res;
}

/**
 * `value` after `ms`, on a timer that does not keep the process alive: a boot's limits must not
 * hold a caller (a test file, the bench) for minutes after the boot is over; QEMU's own handles
 * keep it alive while the boot runs.
 */
function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((r) => setTimeout(() => r(value), ms).unref());
}
