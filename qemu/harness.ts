import { existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { copySparse } from '../common/copy-sparse.ts';
import { join } from 'node:path';
import { removeOnExit } from '../common/cleanup.ts';
import { tempDir } from '../common/leftovers.ts';
import { PROBE_FW_CFG, probeNonce } from '../common/probe.ts';
import { bootsDisk, displayArgs, isNetPath, type Accel, type BootPath } from './cmdline.ts';
import { NET_FILES } from '../common/netboot.ts';
import { fetchLine, serveToGuests, type NetServer } from './net-server.ts';
import { readImageFacts, readIsoFacts, type ImageFacts } from './image-facts.ts';
import { isBackendModule } from '../common/ggml-backends.ts';
import { checkPrompt, type InferenceProbe } from './inference.ts';
import { referenceAnswer, servedFiles, type ImageSource } from './reference.ts';
import { judge, panicHint } from './judge.ts';
import { checkDiskName, removeKilledScratch, removeStaleCheckDisks } from './leftovers.ts';
import type { PathResult } from './output.ts';
import { attachedDisplays, imageInitConfig } from './policy.ts';
import { bootHeadless, freePorts } from './runner.ts';
import { checkBootedDisk } from './disk-check.ts';
import { imageStatus, netRootArgs, readBuildRecord, statusUnreachable, vmOptions, type VmConfig } from './vm-options.ts';

/** What the check takes of aios.json: the VM, the budgets, the waits, the key llama-server wants. */
export interface CheckConfig extends VmConfig {
  kernel: { sizeBudgetMB: number };
  runtime: { apiKey: string };
  check: VmConfig['check'] & {
    timeoutSeconds: number;
    inferenceReadySeconds: number;
    kvmBudgetSeconds: number;
    tcgBudgetSeconds: number;
    networkBudgetSeconds: number;
    uefiBudgetSeconds: number;
  };
}

/** One `aios check` of one build: which paths, how, and where progress lines go. */
export interface CheckRequest {
  out: string;
  config: CheckConfig;
  paths: readonly BootPath[];
  accel: Accel;
  accelWhy: string;
  /** More QEMU arguments (a display device, a second disk). */
  qemuArgs?: readonly string[];
  timeoutSec?: number;
  /** The network paths: an `aios serve` already running, by the base URL the guest reaches it at; undefined: the check serves the build itself. */
  netUrl?: string;
  say?: (line: string) => void;
}

/** The image a path is judged from: the ISO's root for a path that boots it (or when there is no disk), else the disk's. */
function imageSourceOf(out: string, path: BootPath): ImageSource {
  const disk = join(out, 'rootfs.img');
  const iso = join(out, 'aios.iso');
  const fromIso = existsSync(iso) && (!bootsDisk(path) || !existsSync(disk));
  return fromIso ? { kind: 'iso', file: iso } : { kind: 'disk', file: disk };
}

/**
 * The built image's own files, read on the host: the policy the checks judge against. A path that
 * boots the ISO reads the ISO's root, one that boots the disk the disk's; a build of one format
 * only is judged from the image it has.
 */
function imageFactsOf(out: string, release: string | undefined): (path: BootPath) => Promise<{ image?: ImageFacts; imageError?: string }> {
  const read = new Map<string, Promise<{ image?: ImageFacts; imageError?: string }>>();
  return (path) => {
    const { kind, file } = imageSourceOf(out, path);
    const fromIso = kind === 'iso';
    let facts = read.get(file);
    if (!facts) {
      facts = (async () => {
        if (!existsSync(file)) return { imageError: `${out} has neither rootfs.img nor aios.iso` };
        if (!release) return { imageError: `${join(out, 'build.json')} names no kernel release` };
        try {
          return { image: await (fromIso ? readIsoFacts(file, release) : readImageFacts(file, release)) };
        } catch (err) {
          return { imageError: (err as Error).message };
        }
      })();
      read.set(file, facts);
    }
    return facts;
  };
}

/**
 * Boot a build on each path asked for and judge it: the one boot harness that `aios check`, the
 * boot tests and the bench call (as u-root's vmtest is called), returning the verdicts.
 */
/** Tokens asked of the guest and of the reference run. */
const CHECK_MAX_TOKENS = 32;

export async function checkBuild(req: CheckRequest): Promise<PathResult[]> {
  const { out, config, accel } = req;
  const say = req.say ?? (() => {});
  const kernel = join(out, 'vmlinuz');
  if (!existsSync(kernel)) throw new Error(`${out} has no vmlinuz: run \`aios build --out ${out}\` first`);
  for (const f of await removeStaleCheckDisks(out)) say(`removed ${f}, the disk copy of a check that was killed`);
  await removeKilledScratch(say);
  const build = await readBuildRecord(out);
  const served = build.inference;
  const logs = join(out, 'logs');
  await mkdir(logs, { recursive: true });
  const factsFor = imageFactsOf(out, build.kernel?.release);
  const first = await factsFor(req.paths[0] ?? 'direct');
  // The status port and token as the image itself sets them.
  const imageCfg = first.image && imageInitConfig(first.image.initJson).config;
  const guest: { port: number; bind: string; statusToken?: string } = imageCfg
    ? { port: imageCfg.statusPort, bind: imageCfg.statusBind, statusToken: imageCfg.statusToken || undefined }
    : await imageStatus(out);
  const unreachable = statusUnreachable(guest);
  const results: PathResult[] = [];
  // One prompt per check, made up now; the image's own server answers it on the host once per image.
  const prompt = checkPrompt();
  const references = new Map<string, Promise<InferenceProbe>>();
  const referenceFor = (path: BootPath): Promise<InferenceProbe> => {
    const source = imageSourceOf(out, path);
    let ref = references.get(source.file);
    if (!ref) {
      ref = (async () => {
        const { image, imageError } = await factsFor(path);
        if (!image) return { error: imageError ?? 'the image could not be read' };
        const files = servedFiles(imageInitConfig(image.initJson).config);
        if ('error' in files) return files;
        return referenceAnswer({ source, served: files, prompt, maxTokens: CHECK_MAX_TOKENS });
      })();
      references.set(source.file, ref);
    }
    return ref;
  };
  const { path: scratch, release: releaseScratch } = await tempDir('check');
  try {
    for (const path of req.paths) {
      const o = await vmOptions({ out, 'qemu-arg': [...(req.qemuArgs ?? [])] }, config, path, accel);
      const [hostPort, serverPort] = (await freePorts(2)) as [number, number];
      // Nothing to forward to (QEMU refuses a forward to port 0, and reaches no guest loopback).
      o.hostPort = unreachable ? 0 : hostPort;
      o.guestPort = guest.port;
      // The probe runs in this boot only: its nonce is a fw_cfg item that only QEMU's command line sets.
      const nonce = probeNonce();
      o.fwCfg = { [PROBE_FW_CFG]: nonce };
      const inference = served
        ? {
            hostPort: serverPort,
            prompt,
            // The key the image's llama-server was given (the project's token, or runtime.apiKey).
            apiKey: imageCfg?.services.find((s) => s.name === imageCfg.inference.service)?.env.LLAMA_API_KEY ?? config.runtime.apiKey,
            maxTokens: CHECK_MAX_TOKENS,
            readyTimeoutSec: config.check.inferenceReadySeconds,
          }
        : undefined;
      if (inference && served) o.forwards = [{ host: inference.hostPort, guest: served.port }];
      // The network path: this check's own server hands the guest its iPXE script, kernel, initramfs and root.
      let net: NetServer | undefined;
      if (isNetPath(path) && req.netUrl) o.netBootUrl = `${req.netUrl.replace(/\/$/, '')}/${NET_FILES.script}`;
      else if (isNetPath(path)) {
        net = await serveToGuests(out, netRootArgs(build, out), config.boot.cmdline, (f) => say(`[${path}] served ${fetchLine(f)}`));
        o.netBootUrl = net.script;
      }
      let bootDisk: string | undefined;
      let builtDisk = '';
      let releaseDisk = () => {};
      if (bootsDisk(path)) {
        // Boot a copy: the artifact stays byte-identical, and the copy is what e2fsck examines.
        builtDisk = o.disk;
        bootDisk = join(out, checkDiskName(process.pid));
        releaseDisk = removeOnExit(bootDisk);
        await copySparse(o.disk, bootDisk);
        o.disk = bootDisk;
        o.disposableDisk = true;
      }
      // Before the boot, not beside it: the host's own run of the image's server must not take the
      // CPU from the guest whose boot time is judged. Once per image (the ISO paths share one).
      const reference = served ? await referenceFor(path) : undefined;
      if (reference)
        say(
          `[${path}] reference: ${reference.error ? `none (${reference.error})` : `the image's llama-server on the host answered ${reference.tokens?.length ?? 0} tokens`}`,
        );
      const serialLog = join(logs, `serial-${path}.log`);
      say(`\n[${path}] booting (${accel.toUpperCase()}); serial log: ${serialLog}`);
      try {
        const r = await bootHeadless(o, {
          timeoutSec: req.timeoutSec ?? config.check.timeoutSeconds,
          shutdownSec: 60,
          serialLogFile: serialLog,
          inference,
          statusToken: guest.statusToken,
          probeNonce: nonce,
        });
        say(`[${path}] ${r.command}`);
        const fsck = bootDisk ? await checkBootedDisk(bootDisk, builtDisk) : undefined;
        const checks = judge({
          ...r,
          path,
          accel,
          e2fsck: fsck,
          ...(await factsFor(path)),
          attached: attachedDisplays([...displayArgs(path), ...o.extra]),
          kernelBytes: (await stat(kernel)).size,
          kernelBudgetBytes: build.kernel?.sizeBudgetBytes ?? config.kernel.sizeBudgetMB * 1e6,
          budgets: {
            kvm: config.check.kvmBudgetSeconds,
            tcg: config.check.tcgBudgetSeconds,
            network: config.check.networkBudgetSeconds,
            uefi: config.check.uefiBudgetSeconds,
          },
          inferenceExpect: served && { expect: served.expect, model: served.model.name },
          inferenceBackends: served?.runtime?.files.filter(isBackendModule),
          inferenceReference: reference,
          statusUnreachable: unreachable,
        });
        results.push({
          path,
          accel,
          accelWhy: req.accelWhy,
          command: r.command,
          serialLog,
          figures: {
            firstOutputSec: r.firstOutputSec,
            reportSec: r.reportSec,
            uptimeAtReady: r.report?.uptimeAtReady,
            execToReadyMs: r.report?.execToReadyMs,
            v8StartMs: r.report?.startup?.v8StartMs,
            nodeBootstrapMs: r.report?.startup?.nodeBootstrapMs,
            mainStartMs: r.report?.startup?.mainMs,
            pid1RssKB: r.live?.pid1.rssKB ?? r.report?.pid1.rssKB,
            serverReadySec: r.inference?.readySec,
            modelLoadMs: r.inference?.initView?.loadMs ?? undefined,
            firstTokenMs: r.inference?.ttftMs,
            tokensPerSecond: r.inference?.tokensPerSecond,
          },
          checks,
        });
        if (checks.some((c) => !c.ok)) {
          say(
            `[${path}] last 50 serial lines:\n${r.lines
              .slice(-50)
              .map((l) => `  | ${l}`)
              .join('\n')}`,
          );
          const hint = panicHint(r.lines.join('\n'));
          if (hint) say(`[${path}] hint: ${hint}`);
        }
      } finally {
        if (bootDisk) await rm(bootDisk, { force: true });
        releaseDisk();
        await net?.close();
      }
    }
  } finally {
    await releaseScratch();
  }
  return results;
}
