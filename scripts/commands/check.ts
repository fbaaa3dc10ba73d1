import { existsSync } from 'node:fs';
import { copyFile, rm, stat, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomically } from '../lib/atomic.ts';
import { loadProject } from '../project/locate.ts';
import { parsePaths } from '../../qemu/cmdline.ts';
import { bootHeadless, freePorts, fsckPartition } from '../../qemu/runner.ts';
import { chooseAccel, imageStatus, readBuildRecord, statusUnreachable, vmOptions, type CheckArgs } from '../../qemu/vm-options.ts';
import { judge, panicHint } from '../../qemu/judge.ts';
import { junit, table, type PathResult } from '../../qemu/output.ts';
import { CHECK_PROMPT } from '../../qemu/inference.ts';
import { removeOnExit } from '../../common/cleanup.ts';
import { requireTools } from './doctor.ts';
import { PROBE_FLAG, probeNonce } from '../../common/probe.ts';
import { readImageFacts, type ImageFacts } from '../../qemu/image-facts.ts';
import { attachedDisplays, imageInitConfig } from '../../qemu/policy.ts';
import { makeProbeDisk } from '../../qemu/probe-disk.ts';
import { checkDiskName, removeKilledScratch, removeStaleCheckDisks } from './leftovers.ts';
import { tempDir } from '../../common/leftovers.ts';

/** The built image's own files, read on the host: the policy the checks judge against. */
async function imageFacts(out: string, release: string | undefined): Promise<{ image?: ImageFacts; imageError?: string }> {
  const disk = join(out, 'rootfs.img');
  if (!existsSync(disk)) return { imageError: `${out} has no rootfs.img` };
  if (!release) return { imageError: `${join(out, 'build.json')} names no kernel release` };
  try {
    return { image: await readImageFacts(disk, release) };
  } catch (err) {
    return { imageError: (err as Error).message };
  }
}

export async function checkCommand(args: CheckArgs): Promise<number> {
  await requireTools('boot');
  const { config } = await loadProject(args);
  const out = resolve(args.out ?? config.outDir);
  const paths = parsePaths(args.path ?? 'direct');
  // Found before a boot of minutes, not after it.
  await prepareReportFiles({ '--json': args.json, '--junit': args.junit });
  const kernel = join(out, 'vmlinuz');
  if (!existsSync(kernel)) throw new Error(`${out} has no vmlinuz: run \`aios build --out ${out}\` first`);
  for (const f of await removeStaleCheckDisks(out)) console.log(`removed ${f}, the disk copy of a check that was killed`);
  await removeKilledScratch((m) => console.log(m));
  const { accel, why } = await chooseAccel(args.accel ?? config.check.accel, kernel);
  console.log(`accelerator: ${accel.toUpperCase()} (${why})`);
  const build = await readBuildRecord(out);
  const served = build.inference;
  const logs = join(out, 'logs');
  await mkdir(logs, { recursive: true });
  const results: PathResult[] = [];
  const facts = await imageFacts(out, build.kernel?.release);
  // The status port and token as the image itself sets them.
  const imageCfg = facts.image && imageInitConfig(facts.image.initJson).config;
  const guest: { port: number; bind: string; statusToken?: string } = imageCfg
    ? { port: imageCfg.statusPort, bind: imageCfg.statusBind, statusToken: imageCfg.statusToken || undefined }
    : await imageStatus(out);
  const unreachable = statusUnreachable(guest);
  const { path: scratch, release: releaseScratch } = await tempDir('check');
  try {
    for (const path of paths) {
      const o = await vmOptions(args, config, path, accel);
      const [hostPort, serverPort] = (await freePorts(2)) as [number, number];
      // Nothing to forward to (QEMU refuses a forward to port 0, and reaches no guest loopback).
      o.hostPort = unreachable ? 0 : hostPort;
      o.guestPort = guest.port;
      // The probe runs in this boot only: a flag on the kernel command line, or on the ISO paths a
      // small disk whose GRUB snippet adds it.
      const nonce = probeNonce();
      if (path === 'direct') o.cmdline = `${o.cmdline} ${PROBE_FLAG}=${nonce}`;
      else o.probeDisk = await makeProbeDisk(scratch, nonce);
      const inference = served
        ? {
            hostPort: serverPort,
            prompt: CHECK_PROMPT,
            apiKey: config.runtime.apiKey,
            maxTokens: 32,
            readyTimeoutSec: config.check.inferenceReadySeconds,
          }
        : undefined;
      if (inference && served) o.forwards = [{ host: inference.hostPort, guest: served.port }];
      let bootDisk: string | undefined;
      let releaseDisk = () => {};
      if (path === 'direct') {
        // Boot a copy: the artifact stays byte-identical, and the copy is what e2fsck examines.
        bootDisk = join(out, checkDiskName(process.pid));
        releaseDisk = removeOnExit(bootDisk);
        await copyFile(o.disk, bootDisk);
        o.disk = bootDisk;
        o.disposableDisk = true;
      }
      const serialLog = join(logs, `serial-${path}.log`);
      console.log(`\n[${path}] booting (${accel.toUpperCase()}); serial log: ${serialLog}`);
      try {
        const r = await bootHeadless(o, {
          timeoutSec: args.timeout ?? config.check.timeoutSeconds,
          shutdownSec: 60,
          serialLogFile: serialLog,
          inference,
          statusToken: guest.statusToken,
          probeNonce: nonce,
        });
        console.log(`[${path}] ${r.command}`);
        const fsck = bootDisk ? await fsckPartition(bootDisk) : undefined;
        const checks = judge({
          ...r,
          path,
          accel,
          e2fsck: fsck,
          ...facts,
          attached: attachedDisplays(o.extra),
          kernelBytes: (await stat(kernel)).size,
          kernelBudgetBytes: build.kernel?.sizeBudgetBytes ?? config.kernel.sizeBudgetMB * 1e6,
          budgets: { kvm: config.check.kvmBudgetSeconds, tcg: config.check.tcgBudgetSeconds },
          inferenceExpect: served && { expect: served.expect, model: served.model.name },
          statusUnreachable: unreachable,
        });
        results.push({
          path,
          accel,
          accelWhy: why,
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
          console.log(
            `[${path}] last 50 serial lines:\n${r.lines
              .slice(-50)
              .map((l) => `  | ${l}`)
              .join('\n')}`,
          );
          const hint = panicHint(r.lines.join('\n'));
          if (hint) console.log(`[${path}] hint: ${hint}`);
        }
      } finally {
        if (bootDisk) await rm(bootDisk, { force: true });
        releaseDisk();
      }
    }
  } finally {
    await releaseScratch();
  }
  console.log(`\n${table(results)}`);
  const failed = results.flatMap((r) => r.checks.filter((c) => !c.ok));
  if (args.json) await writeFileAtomically(args.json, JSON.stringify({ accel, accelWhy: why, passed: failed.length === 0, results }, null, 2) + '\n');
  if (args.junit) await writeFileAtomically(args.junit, junit(results));
  console.log(`\n${failed.length ? `${failed.length} check(s) failed` : 'all checks passed'} (${results.length} boot path(s), ${accel.toUpperCase()})`);
  return failed.length ? 1 : 0;
}

/** The directories of the report files, made now; a report path that is a directory is an error before any boot. */
export async function prepareReportFiles(files: Record<string, string | undefined>): Promise<void> {
  for (const [flag, file] of Object.entries(files)) {
    if (!file) continue;
    if (existsSync(file) && (await stat(file)).isDirectory())
      throw new Error(`${flag} ${file}: is a directory; give a file name, like ${join(file, flag === '--junit' ? 'junit.xml' : 'check.json')}`);
    await mkdir(dirname(resolve(file)), { recursive: true });
  }
}
