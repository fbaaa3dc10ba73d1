// What one boot produced, as the judge reads it: shared by judge.ts and judge-guest.ts.
import type { BootReport } from '../common/boot-report.ts';
import type { Accel, BootPath } from './cmdline.ts';
import type { InferenceProbe } from './inference.ts';
import type { ProbeResult } from '../common/probe.ts';
import type { ImageFacts } from './image-facts.ts';
import type { AttachedDisplay } from './policy.ts';

export interface CheckResult {
  id: string;
  name: string;
  ok: boolean;
  detail: string;
}

/** What the runner saw during one boot. */
export interface BootObservation {
  report?: BootReport;
  reportError?: string;
  firstOutputSec?: number;
  reportSec?: number;
  httpOk?: boolean;
  httpDetail?: string;
  /** The status endpoint's report, read a while after boot (figures only: the checks use the probe). */
  live?: BootReport;
  /** What the host got from llama-server through its forwarded port. */
  inference?: InferenceProbe;
  cleanShutdown: boolean;
  shutdownDetail: string;
  /** Serial lines from system_powerdown to QEMU's exit: the kernel says how the machine ended. */
  powerOffLines?: string[];
  /** The reason of QEMU's SHUTDOWN event after system_powerdown (guest-shutdown, guest-reset, ...). */
  shutdownReason?: string;
  /** What the probe (busybox in the guest) printed, when aios check asked for it. */
  probe?: ProbeResult;
  /** The firmware's line saying it refused to start the boot loader (Secure Boot). */
  firmwareRefusal?: string;
}

/** What one boot produced, as the judge sees it: the observation and the facts around it. */
export interface BootOutcome extends BootObservation {
  path: BootPath;
  accel: Accel;
  e2fsck?: { ok: boolean; detail: string };
  kernelBytes: number;
  kernelBudgetBytes: number;
  /** Boot-report budgets; `network` is added on the network path (its root fetched and verified first), `uefi` on the UEFI paths. */
  budgets: { kvm: number; tcg: number; network?: number; uefi?: number };
  /** The image's own files (fstab, init.json, modules), read on the host. */
  image?: ImageFacts;
  imageError?: string;
  /** Display devices the host put on the guest's PCI bus. */
  attached?: AttachedDisplay[];
  /** Why the host cannot reach the image's status endpoint (none, or bound to loopback): it reaches the guest through llama-server's port only. */
  statusUnreachable?: string;
  /** ggml's backend modules the build put beside llama-server: each must load in the guest. */
  inferenceBackends?: string[];
  /** The image serves a model: the answer must hold `expect` (any answer when empty). */
  inferenceExpect?: { expect: string; model: string };
  /** The image's own server and model run on the host over the same prompt (qemu/reference.ts). */
  inferenceReference?: InferenceProbe;
}
