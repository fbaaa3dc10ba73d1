/**
 * The checks whose facts live in the guest: judged from what the probe (busybox) printed and from
 * the image's own files read on the host, with aios-init's report only where nothing else knows.
 */
import { PROBE_FILES, type ProbeEvidence, type ProbeZombie } from '../common/probe.ts';
import { gpuModules, isDisplayClass, pciDriverOf } from '../common/gpu-modules.ts';
import { mountsWanted, type ImageFacts } from './image-facts.ts';
import { allowedModules, imageInitConfig, type AttachedDisplay } from './policy.ts';
import { isNeverLoad } from '../common/module-names.ts';
import type { BootOutcome, CheckResult } from './outcome.ts';

const result = (id: string, name: string, ok: boolean, detail: string): CheckResult => ({ id, name, ok, detail });

/** Every mount point the image's fstab asks for (parsed on the host) is in the probe's /proc/mounts. */
export function judgeFilesystems(image: Pick<ImageFacts, 'fstab'>, p: ProbeEvidence): CheckResult {
  const wanted = mountsWanted(image.fstab);
  const mountAt = (t: string) => p.mounts.filter((m) => m.target === t).pop();
  const mode = (options: readonly string[]) => (options.includes('ro') ? 'ro' : 'rw');
  const problems = wanted.flatMap((w) => {
    const m = mountAt(w.target);
    if (!m) return [`${w.target} not mounted (fstab: ${w.source}, ${w.fstype})`];
    const out: string[] = [];
    if (w.fstype !== 'auto' && m.fstype !== w.fstype) out.push(`${w.target} is ${m.fstype}, fstab says ${w.fstype}`);
    // The root that only the kernel command line names has no fstab options to hold it to.
    const declared = image.fstab.includes(w);
    const actual = mode(m.options.split(','));
    if (declared && actual !== mode(w.options)) out.push(`${w.target} is mounted ${actual}, fstab says ${mode(w.options)}`);
    return out;
  });
  return result(
    'filesystems',
    'filesystems mounted',
    problems.length === 0,
    problems.length
      ? problems.join('; ')
      : `mounted: ${wanted.map((w) => `${w.target} (${mountAt(w.target)!.fstype}, ${mode(mountAt(w.target)!.options.split(','))})`).join(', ')} (the image's fstab against /proc/mounts: type and ro/rw)`,
  );
}

/** An Ethernet interface holds the address of a DHCP lease, and the host reached the guest through it. */
export function judgeNetwork(p: ProbeEvidence, o: Pick<BootOutcome, 'httpOk' | 'httpDetail' | 'statusUnreachable' | 'inference'>): CheckResult {
  const eth = Object.entries(p.interfaces).filter(
    ([name, i]) => name !== 'lo' && i.up && i.addresses.some((a) => /^\d+\.\d+\.\d+\.\d+\//.test(a) && !a.startsWith('127.')),
  );
  // QEMU's user network hands out addresses by DHCP: an address without a lease is a static
  // fallback covering for a broken DHCP client.
  const leaseOf = (name: string, addrs: string[]) => {
    const l = p.leases[name];
    return l?.ip && addrs.some((a) => a.split('/')[0] === l.ip) ? l : undefined;
  };
  const leased = eth.filter(([name, i]) => leaseOf(name, i.addresses));
  const how = (name: string, addrs: string[]) => {
    const l = leaseOf(name, addrs);
    return l ? ` (DHCP from ${l.server || '?'}, lease ${l.lease || '?'} s)` : ' (no DHCP lease: static or stale)';
  };
  const v4 = (addrs: string[]) => addrs.filter((a) => a.includes('.'));
  // The host must reach the guest: through the status endpoint, or, in an image without one, through llama-server's port.
  const served = o.inference?.answer !== undefined && !o.inference.error;
  const reached = o.statusUnreachable
    ? { ok: served, text: `${o.statusUnreachable}; host -> guest llama-server port: ${served ? 'answered' : 'no answer'}` }
    : { ok: o.httpOk === true, text: `host -> guest status port: ${o.httpOk ? 'answered' : `no answer${o.httpDetail ? ` (${o.httpDetail})` : ''}`}` };
  return result(
    'network',
    'network up',
    leased.length > 0 && reached.ok,
    `${eth.length ? eth.map(([n, i]) => `${n} ${v4(i.addresses).join(' ')}${how(n, i.addresses)}`).join(', ') : 'no Ethernet interface up with an IPv4 address'}; ${reached.text}`,
  );
}

/**
 * Each display device the host attached is on the guest's PCI bus, and each NVIDIA or AMD one has
 * its module loaded (or built in).
 */
export function judgeGpu(attached: readonly AttachedDisplay[], p: ProbeEvidence, image: Pick<ImageFacts, 'moduleDeps' | 'builtin'>): CheckResult {
  const found = p.pci.filter((d) => isDisplayClass(d.class));
  const unmatched = [...found];
  const hidden = attached.filter((a) => {
    const i = unmatched.findIndex((d) => d.vendor === a.vendor && d.device === a.device);
    if (i < 0) return true;
    unmatched.splice(i, 1);
    return false;
  });
  const problems: string[] = hidden.map((a) => `the host attached ${a.spec} (${a.vendor}:${a.device}), but the guest's PCI bus has no such device`);
  const seen = found.map((d) => {
    const want = gpuModules(d.vendor, d.class, (n) => image.moduleDeps.has(n))[0];
    if (!want) return `${d.vendor}:${d.device} at ${d.slot}, driver ${d.driver ?? 'none bound'}, no module in the policy`;
    const loaded = p.modules[want] !== undefined || image.builtin.has(want);
    // Loaded is not enough: the device is served only when that driver bound it (sysfs driver link).
    const driver = pciDriverOf(want);
    const bound = d.driver === driver;
    if (!loaded) problems.push(`${d.vendor}:${d.device} at ${d.slot} needs ${want}, which is not loaded`);
    else if (!bound)
      problems.push(
        `${d.vendor}:${d.device} at ${d.slot}: ${want} is loaded but ${d.driver ? `${d.driver} is bound instead of ${driver}` : `did not bind it (no ${driver} driver link)`}`,
      );
    return `${d.vendor}:${d.device} at ${d.slot}, driver ${d.driver ?? 'none bound'}, module ${want}${loaded ? ' loaded' : ' NOT loaded'}`;
  });
  const host = attached.length ? `host attached ${attached.map((a) => `${a.spec} (${a.vendor}:${a.device})`).join(', ')}` : 'host attached no display device';
  return result(
    'gpu',
    'GPU detected when present',
    problems.length === 0,
    `${problems.length ? `${problems.join('; ')}; ` : ''}${host}; guest has ${seen.length ? seen.join('; ') : 'no display device'}`,
  );
}

/** What aios-init mounts itself, and stage 1 before it: each must be there, of its type, for services and the kernel's interfaces. */
export const PSEUDO_MOUNTS: readonly { target: string; fstype: string }[] = [
  { target: '/proc', fstype: 'proc' },
  { target: '/sys', fstype: 'sysfs' },
  { target: '/dev', fstype: 'devtmpfs' },
  { target: '/dev/pts', fstype: 'devpts' },
  { target: '/dev/shm', fstype: 'tmpfs' },
  { target: '/run', fstype: 'tmpfs' },
  { target: '/tmp', fstype: 'tmpfs' },
];

export function judgeProcSys(p: ProbeEvidence): CheckResult {
  const absent = PROBE_FILES.filter((f) => p.files[f] !== true);
  const unmounted = PSEUDO_MOUNTS.filter((w) => p.mounts.filter((m) => m.target === w.target).pop()?.fstype !== w.fstype);
  const problems = [
    ...(absent.length ? [`missing: ${absent.map((f) => `${f}${p.files[f] === undefined ? ' (not reported by the probe)' : ''}`).join(', ')}`] : []),
    ...(unmounted.length ? [`not mounted: ${unmounted.map((w) => `${w.target} (${w.fstype})`).join(', ')}`] : []),
  ];
  return result(
    'proc-sys',
    '/proc and /sys populated',
    problems.length === 0,
    problems.length ? problems.join('; ') : `${PROBE_FILES.length} files present; ${PSEUDO_MOUNTS.map((m) => m.target).join(', ')} mounted`,
  );
}

export function judgePid1(p: ProbeEvidence): CheckResult {
  const ok = p.pid1.comm === 'aios-init' && /\/aios-init$/.test(p.pid1.exe);
  return result('pid1', 'PID 1 is aios-init', ok, `/proc/1/comm "${p.pid1.comm}", /proc/1/exe ${p.pid1.exe || '(unreadable)'}`);
}

/**
 * A zombie of PID 1's in both of the probe's readings, a second apart, was not reaped by PID 1.
 * Only PID 1's: a zombie whose parent is alive is that parent's to reap, not the init's, and an
 * image must not fail for a service that waits for its children late.
 */
export function judgeOrphans(p: ProbeEvidence): CheckResult {
  const ofPid1 = (zs: readonly ProbeZombie[]) => zs.filter((z) => z.ppid === 1);
  const [first, second] = [ofPid1(p.zombies[0]), ofPid1(p.zombies[1])];
  const inBoth = second.filter((z) => first.some((f) => f.pid === z.pid));
  // A zombie in both readings gets a third look 2 s later (the probe takes it): gone by then, it
  // was reaped late, under load; still there, PID 1 is not reaping.
  const later = p.zombiesLater && ofPid1(p.zombiesLater);
  const stale = later ? inBoth.filter((z) => later.some((l) => l.pid === z.pid)) : inBoth;
  const span = later ? 'more than 3 s' : 'more than a second';
  const others = p.zombies[0].length - first.length;
  return result(
    'orphans',
    'orphans reaped',
    stale.length === 0,
    stale.length
      ? `zombies of PID 1 left for ${span}: ${stale.map((z) => `pid ${z.pid} (${z.comm})`).join(', ')}`
      : `no zombie of PID 1 outlived ${later ? '3 s' : 'a second'} (${first.length} seen in the first reading${later ? `, ${inBoth.length} still in the second, reaped before the third` : ''}${others ? `; ${others} zombie(s) of live parents, theirs to reap` : ''})`,
  );
}

/** Loaded modules (the probe's /proc/modules) against the image's policy, computed here. */
export function judgeModules(image: Pick<ImageFacts, 'initJson' | 'moduleDeps'>, p: ProbeEvidence): CheckResult {
  const { config } = imageInitConfig(image.initJson);
  const allowed = allowedModules(
    config,
    image,
    p.pci.filter((d) => isDisplayClass(d.class)),
  );
  const loaded = Object.keys(p.modules).sort();
  const never = loaded.filter((m) => isNeverLoad(m, config.modules.never));
  const extra = loaded.filter((m) => !allowed.has(m) && !never.includes(m));
  return result(
    'modules',
    'no unneeded modules loaded',
    never.length === 0 && extra.length === 0,
    `${loaded.length} loaded${loaded.length ? ` (${loaded.join(', ')})` : ''}${extra.length ? `; not allowed: ${extra.join(', ')}` : ''}${never.length ? `; never-load (init.json modules.never): ${never.join(', ')}` : ''}`,
  );
}

/** init.json checked on the host with its own schema; aios-init's view of it is added when it differs. */
export function judgeConfig(o: Pick<BootOutcome, 'image' | 'report'>): CheckResult {
  const name = 'image configuration accepted';
  if (!o.image) return result('config', name, false, "the image's /etc/aios/init.json could not be read");
  const host = imageInitConfig(o.image.initJson).errors;
  const guest = o.report?.configErrors ?? [];
  const all = [...new Set([...host, ...guest])];
  return result(
    'config',
    name,
    all.length === 0,
    all.length
      ? `init.json: ${all.join('; ')}${guest.length === 0 ? ' (aios-init did not report it)' : ''}`
      : o.image.initJson === null
        ? 'the image has no /etc/aios/init.json: defaults'
        : '/etc/aios/init.json accepted without errors',
  );
}

/** The device-mapper device the root is mounted from, when it is one: by /dev/mapper name or dm-N. */
function rootDm(p: ProbeEvidence): { dev: string; name: string; uuid: string; source: string; options: string } | undefined {
  const root = p.mounts.filter((m) => m.target === '/').pop();
  if (!root) return undefined;
  const byName = root.source.startsWith('/dev/mapper/') ? root.source.slice('/dev/mapper/'.length) : undefined;
  const byDev = /^\/dev\/(dm-\d+)$/.exec(root.source)?.[1];
  const hit = Object.entries(p.dm).find(([dev, d]) => dev === byDev || d.name === byName);
  return hit && { dev: hit[0], ...hit[1], source: root.source, options: root.options };
}

/** The root is a dm-verity device (veritysetup's CRYPT-VERITY- uuid), mounted read-only. */
export function judgeVerifiedRoot(p: ProbeEvidence): CheckResult {
  const name = 'root verified (dm-verity, read-only)';
  const root = p.mounts.filter((m) => m.target === '/').pop();
  const dm = rootDm(p);
  if (!root) return result('verified-root', name, false, 'the probe saw no mount on /');
  if (!dm)
    return result('verified-root', name, false, `/ is mounted from ${root.source}, not from a device-mapper device: nothing verifies what the root holds`);
  const verity = dm.uuid.startsWith('CRYPT-VERITY-');
  const ro = dm.options.split(',').includes('ro');
  return result(
    'verified-root',
    name,
    verity && ro,
    `/ from ${dm.source} (${dm.dev}, uuid ${dm.uuid || 'none'}): ${verity ? 'a verity device' : 'NOT a verity device'}, mounted ${ro ? 'read-only' : 'READ-WRITE'}`,
  );
}

/** The firmware enforced Secure Boot, the kernel is locked down, and the root is verified: the chain from firmware to root. */
export function judgeVerifiedBoot(p: ProbeEvidence): CheckResult {
  const name = 'verified boot (Secure Boot, lockdown, dm-verity root)';
  const problems: string[] = [];
  const sb = p.secureBoot;
  if (sb !== '1')
    problems.push(
      sb === '0'
        ? 'the firmware did not enforce Secure Boot (SecureBoot=0)'
        : sb === 'bios'
          ? 'the machine booted through BIOS: no Secure Boot'
          : `the firmware's SecureBoot variable: ${sb ?? 'not reported'}`,
    );
  const mode = /\[(\w+)\]/.exec(p.lockdown ?? '')?.[1];
  if (mode !== 'integrity' && mode !== 'confidentiality') problems.push(`the kernel is not locked down (lockdown: ${p.lockdown ?? 'not reported'})`);
  const root = judgeVerifiedRoot(p);
  if (!root.ok) problems.push(root.detail);
  return result(
    'verified-boot',
    name,
    problems.length === 0,
    problems.length ? problems.join('; ') : `SecureBoot=1 (firmware), lockdown ${mode}, ${root.detail}`,
  );
}

/**
 * Every ggml backend module the build put beside llama-server (build.json's runtime files) is in
 * the running image and its loader finds every library it needs (the probe's `ld.so --list`). A
 * module that cannot load is skipped by llama-server without a word a client sees: the CPU
 * variants cover for each other and the server answers on the CPU with a GPU backend gone, so
 * the inference check alone passes such an image.
 */
export function judgeBackends(expected: readonly string[], p: ProbeEvidence): CheckResult {
  const name = 'inference backends load';
  const problems = [
    ...expected.filter((m) => !(m in p.backends)).map((m) => `${m} is not in the image`),
    ...Object.entries(p.backends)
      .filter(([, missing]) => missing.length)
      .map(([m, missing]) => `${m} needs ${missing.join(', ')}: not found`),
  ];
  const gpu = expected.filter((m) => !m.startsWith('libggml-cpu'));
  return result(
    'backends',
    name,
    expected.length > 0 && problems.length === 0,
    expected.length === 0
      ? 'build.json lists no backend module'
      : problems.length
        ? problems.join('; ')
        : `${expected.length} modules (${expected.length - gpu.length} CPU variants${gpu.length ? `, ${gpu.join(', ')}` : ''}): every library each needs found by the guest's loader (ld.so --list)`,
  );
}
