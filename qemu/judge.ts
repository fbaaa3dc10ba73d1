import type { InferenceProbe } from './inference.ts';
import { compareTokens, LOGPROB_TOLERANCE } from './answer-compare.ts';
import {
  judgeBackends,
  judgeConfig,
  judgeFilesystems,
  judgeGpu,
  judgeModules,
  judgeNetwork,
  judgeOrphans,
  judgePid1,
  judgeProcSys,
  judgeVerifiedBoot,
  judgeVerifiedRoot,
} from './judge-guest.ts';

export type { BootObservation, BootOutcome, CheckResult } from './outcome.ts';
import type { BootObservation, BootOutcome, CheckResult } from './outcome.ts';
import { isNetPath, isSecureBootPath, uefiFirmware } from './cmdline.ts';

/**
 * Check 11, from what the host itself received, never from what aios-init reports: the guest's
 * answer must be what the image's own model and server give the same prompt on the host
 * (`reference`), token by token with the same probabilities, from the model the image serves.
 */
export function judgeInference(want: { expect: string; model: string }, probe: InferenceProbe | undefined, reference: InferenceProbe | undefined): CheckResult {
  const name = 'inference answers';
  const fail = (detail: string): CheckResult => ({ id: 'inference', name, ok: false, detail });
  if (!probe) return fail('no request was sent: the boot never reached its report');
  const init = probe.initView;
  const load = init?.loadMs != null ? `, model load ${init.loadMs} ms (aios-init)` : '';
  if (probe.error || probe.answer === undefined) return fail(`${probe.error ?? 'no answer'}${init?.reason ? `; aios-init says: ${init.reason}` : ''}`);
  const said = `${want.model} answered ${JSON.stringify(probe.answer)}`;
  if (!probe.tokens) return fail(`${said}, with no token probabilities (n_probs): not what llama-server sends`);
  if (!reference || reference.error || !reference.tokens)
    return fail(`${said}; no reference answer from the image's own server on the host: ${reference?.error ?? 'not run'}`);
  const differs = compareTokens(probe.tokens, reference.tokens);
  if (differs) return fail(`${said}, not what the image's model gives on the host (${JSON.stringify(reference.answer)}): ${differs}`);
  if (probe.model !== reference.model)
    return fail(`${said}, but the guest's server says it serves ${JSON.stringify(probe.model)}, the image's ${JSON.stringify(reference.model)}`);
  if (want.expect && !probe.answer.includes(want.expect)) return fail(`${said}, without the expected ${JSON.stringify(want.expect)}`);
  const figures = `server ready ${probe.readySec?.toFixed(1)} s after QEMU start${load}, first token ${probe.ttftMs?.toFixed(0) ?? '?'} ms, ${probe.tokensPerSecond?.toFixed(1) ?? '?'} tokens/s (${probe.predicted ?? '?'} tokens)`;
  return {
    id: 'inference',
    name,
    ok: true,
    detail: `${said}, as the image's model on the host does (${probe.tokens.length} tokens, probabilities within ${LOGPROB_TOLERANCE})${want.expect ? `, with the expected ${JSON.stringify(want.expect)}` : ''}; ${figures}`,
  };
}

/** The checks that need a boot that reached aios-init's report. */
const CHECKS_NEEDING_THE_BOOT = [
  ['filesystems', 'filesystems mounted'],
  ['network', 'network up'],
  ['gpu', 'GPU detected when present'],
  ['proc-sys', '/proc and /sys populated'],
  ['pid1', 'PID 1 is aios-init'],
  ['orphans', 'orphans reaped'],
  ['modules', 'no unneeded modules loaded'],
  ['verified-root', 'root verified (dm-verity, read-only)'],
  ['config', 'image configuration accepted'],
] as const;

const NO_REPORT = (o: BootOutcome) =>
  `no boot report${o.reportError ? ` (${o.reportError})` : ''}${o.firmwareRefusal ? `: the firmware refused to start the boot loader (${o.firmwareRefusal})` : ''}`;

/** Judge the checklist of the spec on one boot; every check says why it passed or failed. */
export function judge(o: BootOutcome): CheckResult[] {
  const r = o.report;
  const out: CheckResult[] = [];
  const add = (id: string, name: string, ok: boolean, detail: string) => out.push({ id, name, ok, detail });

  // The network path fetches its root and checks every block of it before the boot goes on.
  const network = isNetPath(o.path) ? (o.budgets.network ?? 0) : 0;
  // OVMF (behind emulated SMM on the Secure Boot paths) starts, then reads and checks the signed UKI.
  const firmware = uefiFirmware(o.path) ? (o.budgets.uefi ?? 0) : 0;
  const budget = (o.accel === 'kvm' ? o.budgets.kvm : o.budgets.tcg) + network + firmware;
  const t = (s?: number) => (s === undefined ? 'never' : `${s.toFixed(1)} s`);
  add(
    'boot-time',
    'boots fast',
    o.reportSec !== undefined && o.reportSec <= budget,
    `first serial output ${t(o.firstOutputSec)}, boot report ${t(o.reportSec)}; budget ${budget} s (${o.accel.toUpperCase()} budget${network ? ` + ${network} s for the root over the network` : ''}${firmware ? ` + ${firmware} s for UEFI firmware` : ''})`,
  );

  const secure = isSecureBootPath(o.path);
  const backends = o.inferenceBackends;
  const needed = [
    ...CHECKS_NEEDING_THE_BOOT,
    ...(secure ? ([['verified-boot', 'verified boot (Secure Boot, lockdown, dm-verity root)']] as const) : []),
    ...(backends ? ([['backends', 'inference backends load']] as const) : []),
  ];
  if (!r) {
    for (const [id, name] of needed) add(id, name, false, NO_REPORT(o));
  } else {
    const p = o.probe?.ok ? o.probe.evidence : undefined;
    const image = o.image;
    if (!p || !image) {
      const why = !image
        ? `the image's own files could not be read (${o.imageError ?? 'no rootfs.img'})`
        : `no probe evidence: ${o.probe && !o.probe.ok ? o.probe.error : 'the probe did not run'}`;
      for (const [id, name] of needed) if (id !== 'config') add(id, name, false, why);
    } else {
      out.push(
        judgeFilesystems(image, p),
        judgeNetwork(p, o),
        judgeGpu(o.attached ?? [], p, image),
        judgeProcSys(p),
        judgePid1(p),
        judgeOrphans(p),
        judgeModules(image, p),
        judgeVerifiedRoot(p),
        ...(secure ? [judgeVerifiedBoot(p)] : []),
        ...(backends ? [judgeBackends(backends, p)] : []),
      );
    }
    out.push(judgeConfig(o));
  }

  add(
    'kernel-size',
    'kernel under its size budget',
    o.kernelBytes > 0 && o.kernelBytes <= o.kernelBudgetBytes,
    `bzImage ${(o.kernelBytes / 1e6).toFixed(2)} MB, budget ${(o.kernelBudgetBytes / 1e6).toFixed(0)} MB`,
  );
  if (o.inferenceExpect) out.push(judgeInference(o.inferenceExpect, o.inference, o.inferenceReference));
  out.push(judgePowerOff(o));
  if (o.e2fsck) add('fsck', 'disk clean after shutdown (root unchanged, state clean)', o.e2fsck.ok, o.e2fsck.detail);
  return out;
}

/**
 * Power-off means power-off: QEMU ended by itself after system_powerdown, and its SHUTDOWN event
 * gives the reason guest-shutdown (a reboot or a panic, which -no-reboot also ends QEMU on, is
 * guest-reset). The kernel's last words on the console explain a failure; they decide nothing,
 * since a service can print them too.
 */
export function judgePowerOff(o: Pick<BootObservation, 'cleanShutdown' | 'shutdownDetail' | 'powerOffLines' | 'shutdownReason'>): CheckResult {
  const name = 'clean power-off';
  if (!o.cleanShutdown) return { id: 'shutdown', name, ok: false, detail: o.shutdownDetail };
  const lines = o.powerOffLines ?? [];
  const bad = lines.find((l) => /Kernel panic|reboot: Restarting system|reboot: System halted|Attempted to kill init/.test(l));
  const said = bad ? `; the kernel said: ${bad.trim()}` : lines.some((l) => /reboot: Power down/.test(l)) ? '; the kernel said "reboot: Power down"' : '';
  if (o.shutdownReason === undefined) return { id: 'shutdown', name, ok: false, detail: `${o.shutdownDetail}, but QEMU sent no SHUTDOWN event${said}` };
  if (o.shutdownReason !== 'guest-shutdown')
    return { id: 'shutdown', name, ok: false, detail: `${o.shutdownDetail}, but QEMU's SHUTDOWN reason is "${o.shutdownReason}", not a power-off${said}` };
  return { id: 'shutdown', name, ok: true, detail: `${o.shutdownDetail}; QEMU's SHUTDOWN reason: guest-shutdown${said}` };
}

/** Map a kernel panic on the serial log to the options that are likely missing. */
export function panicHint(log: string): string | undefined {
  if (!/Kernel panic/.test(log)) return undefined;
  if (/device-mapper: verity: .*corrupted|dm-verity device corrupted/.test(log))
    return 'dm-verity found a block of the root that does not match its hash tree: the root image was changed after the build (or the disk is failing); rebuild it, never boot it unverified';
  if (/VFS: Unable to mount root fs|No root device|unknown-block/.test(log))
    return 'the kernel found no root device: check the storage driver (CONFIG_ATA_PIIX, CONFIG_SATA_AHCI, CONFIG_VIRTIO_BLK) and filesystem options (CONFIG_EXT4_FS), and root= on the command line';
  if (/No working init found|Requested init .* failed|init not found/.test(log))
    return 'the kernel found no init: check CONFIG_BINFMT_ELF / CONFIG_BINFMT_SCRIPT, the init= path, and that /usr/sbin/aios-init and its libraries are in the root filesystem';
  if (/Attempted to kill init/.test(log)) return 'PID 1 exited: aios-init or stage 1 crashed or is missing (see the lines above the panic)';
  return 'the kernel panicked: see the last serial lines above';
}
