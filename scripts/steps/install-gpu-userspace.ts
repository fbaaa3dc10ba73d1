import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { listTree } from '../lib/hash.ts';
import { openApt } from '../lib/apt.ts';
import { isElf, neededLibs } from '../lib/elf.ts';
import { downloadPackages, resolvePackages } from '../project/packages.ts';
import { driverVersionOf } from '../gpu/debian-versions.ts';
import { alternativeLinks, modulesStatus, MODULES_STANDIN, NVIDIA_LIB_DIR, pinnedRequest, USERSPACE_PACKAGES, userspaceMismatch } from '../gpu/userspace.ts';
import type { GpuUserspaceRecord } from '../../common/build-json.ts';

const STEP_VERSION = 1;

/**
 * The NVIDIA driver's user space of exactly the modules' version (scripts/gpu/userspace.ts):
 * the packages' files, the links their alternatives would make, and which host libraries they
 * need (glibc's, libcrypto), which the root filesystem step copies like llama-server's.
 */
export async function installGpuUserspace(ctx: BuildContext): Promise<void> {
  const modules = need(ctx, 'gpuModules');
  const driver = modules.record.driver;
  const info = (m: string) => ctx.log.info(m);
  // Keyed by the driver's release and the package names: Debian never changes a version's .deb,
  // so a no-op build asks apt nothing.
  const inputs = { version: STEP_VERSION, values: { driver, packages: USERSPACE_PACKAGES } };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const repo = await openApt(ctx.opts.cacheDir, info);
    const { version: debianVersion, versions } = await driverVersionOf(repo.options, USERSPACE_PACKAGES[0], driver);
    if (!debianVersion)
      throw new Error(
        `Debian has no ${USERSPACE_PACKAGES[0]} for driver ${driver} (it has ${versions.join(', ') || 'none'}): the user space must be of the modules' version; set gpu.nvidiaUserspace false to build without it`,
      );
    // The private status in which the modules are installed (never the host's, never the shared one).
    const status = join(out, 'dpkg-status');
    await writeFile(status, modulesStatus(driver));
    const closure = await resolvePackages(repo, pinnedRequest(debianVersion), `the NVIDIA user space for driver ${driver}`, status);
    const mismatch = userspaceMismatch(closure, driver);
    if (mismatch) throw new Error(mismatch);
    const wanted = new Set<string>(USERSPACE_PACKAGES);
    const chosen = closure.filter((p) => wanted.has(p.name));
    // The rest is what dpkg's maintainer scripts and the alternatives system need (dpkg, debconf,
    // glx-alternative-*, nvidia-legacy-check, ...) and glibc and OpenSSL, which the image takes
    // from the host with the other programs' libraries: none of it is unpacked.
    const leftOut = closure.filter((p) => !wanted.has(p.name)).map((p) => ({ name: p.name, version: p.version }));
    info(`NVIDIA user space ${debianVersion}: ${chosen.map((p) => p.name).join(', ')}`);
    const debs = await downloadPackages(repo, chosen, ctx.opts.cacheDir, info);
    const tree = join(out, 'tree');
    await mkdir(tree);
    for (const d of debs) await run('dpkg-deb', ['-x', d.deb, tree]);
    // reportbug's hooks and lintian's overrides serve Debian's tooling, not a running machine.
    for (const d of ['usr/share/bug', 'usr/share/lintian']) await rm(join(tree, d), { recursive: true, force: true });
    const files = await listTree(tree);
    const links = alternativeLinks(files);
    for (const l of links) {
      await mkdir(join(tree, dirname(l.path)), { recursive: true });
      await symlink(l.target, join(tree, l.path));
    }
    // What the driver's programs and libraries need that is not theirs: the host's copies.
    const own = join(tree, NVIDIA_LIB_DIR);
    const systemLibs = new Set<string>();
    for (const f of files) {
      const abs = join(tree, f);
      if (!(await isElf(abs))) continue;
      for (const lib of await neededLibs(abs, own)) if (!lib.path.startsWith(`${tree}/`)) systemLibs.add(lib.path);
    }
    const sonames = links.filter((l) => l.path.startsWith('usr/lib/')).map((l) => l.path.split('/').pop()!);
    const record: GpuUserspaceRecord = {
      driver,
      debianVersion,
      packages: debs.map((d) => ({ name: d.package, version: d.version, sha256: d.sha256 })),
      files: [...files.map((f) => `/${f}`), ...links.map((l) => `/${l.path}`)].sort(),
      links: links.map((l) => ({ path: `/${l.path}`, target: l.target })),
      sonames,
      systemLibs: [...systemLibs].sort(),
      providedBy: `${MODULES_STANDIN} (nvidia-open-kernel-${driver})`,
      leftOut,
    };
    await writeFile(join(out, 'userspace.json'), JSON.stringify(record, null, 2) + '\n');
  });
  const record = JSON.parse(await readFile(join(dir, 'userspace.json'), 'utf8')) as GpuUserspaceRecord;
  info(
    `NVIDIA user space ${record.debianVersion}: ${record.sonames.join(', ')}, nvidia-smi; ${record.leftOut.length} packages of its closure left out (maintainer-script plumbing, host libraries)`,
  );
  ctx.gpuUserspace = { dir, tree: join(dir, 'tree'), record };
}
