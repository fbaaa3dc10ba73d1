import { chmod, cp, lstat, mkdir, readFile, readlink, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cachedStep } from '../pipeline/cache.ts';
import { need, type BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { fetchDeb } from '../lib/debian.ts';
import { buildManifest, privilegedEntries, undeclaredEntries, unsafeEntries } from '../rootfs/manifest.ts';
import { mkdirInside, pathInside, putFile, putSymlink, refuse } from '../rootfs/confine.ts';
import { pinTimes } from '../rootfs/times.ts';
import { RUNTIME_DIR } from '../runtime/cmake.ts';
import { MODELS_DIR, SERVER_PATH } from '../runtime/inference-service.ts';
import { applyProjectInputs, projectKey } from '../project/inputs.ts';
import { hookEnv, hookInputs, runHook } from '../project/hooks.ts';
import { assembleInitJson, assertInitJsonAccepted, holdsSecrets, namedServiceUsers, rootServices, withTokens } from '../rootfs/init-json.ts';
import { projectTokens } from '../project/tokens.ts';
import { sha256 } from '../lib/hash.ts';
import { addSystemUsers, type PasswdEntry } from '../../common/service-user.ts';
import type { ProjectRecord } from '../pipeline/context.ts';
import { UPDATE_CERT } from '../../common/slots.ts';
import { GCONV_DIR, GCONV_MODULES, HOST_IBM850, MTOOLS } from '../../common/esp-tools.ts';

const STEP_VERSION = 7;
export const ROOT_DIRS = [
  'bin',
  'sbin',
  'usr/bin',
  'usr/sbin',
  'usr/lib',
  'lib',
  'lib64',
  'etc',
  'proc',
  'sys',
  'dev',
  'run',
  'tmp',
  'var/tmp',
  'var/lib/aios',
  'var/log',
  'root',
  'mnt',
];

/** Applet links, as `busybox --list-full` names them (bin/sh, sbin/udhcpc, ...). */
export async function installBusybox(busybox: string, tree: string): Promise<void> {
  await copyFile(busybox, join(tree, 'bin/busybox'));
  await chmod(join(tree, 'bin/busybox'), 0o755);
  const { stdout } = await run(busybox, ['--list-full']);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    const link = join(tree, applet);
    if (existsSync(link) || applet === 'bin/busybox') continue;
    await mkdir(dirname(link), { recursive: true });
    const depth = applet.split('/').length - 1;
    await symlink(`${'../'.repeat(depth)}bin/busybox`, link);
  }
}

/**
 * llama-server and its libraries in RUNTIME_DIR and the model; returns every library it uses (its
 * own and the host's). Written after the project's inputs, so every write is confined.
 */
async function installRuntime(tree: string, runtime: NonNullable<BuildContext['runtime']>, model: NonNullable<BuildContext['model']>): Promise<string[]> {
  const where = 'installing llama-server';
  await mkdirInside(tree, RUNTIME_DIR, where);
  for (const f of runtime.files) await putFile(join(runtime.stage, f), await pathInside(tree, `${RUNTIME_DIR}/${f}`, where));
  await putSymlink(`../lib/llama/llama-server`, await pathInside(tree, 'usr/bin/llama-server', where));
  await mkdirInside(tree, MODELS_DIR, where);
  await putFile(model.path, await pathInside(tree, `${MODELS_DIR}/${model.file}`, where), 0o644);
  return [...runtime.files.filter((f) => f.endsWith('.so') || /\.so\.\d/.test(f)).map((f) => `${RUNTIME_DIR}/${f}`), ...runtime.systemLibs].sort();
}

/**
 * /etc/passwd and /etc/group of the tree with a system user for each service user not there yet.
 * Whatever gave them (aiOS's rootfs/, an overlay, a package) must have given plain files.
 */
async function addServiceUsers(tree: string, names: readonly string[]): Promise<PasswdEntry[]> {
  const where = "adding the services' users";
  const file = async (rel: string) => {
    const path = await pathInside(tree, rel, where);
    const st = await lstat(path).catch(() => undefined);
    if (st && !st.isFile()) throw new Error(`/${rel} of the root filesystem is not a plain file: an overlay, package or image must give it as one`);
    return { path, text: st ? await readFile(path, 'utf8') : '' };
  };
  const passwd = await file('etc/passwd');
  const group = await file('etc/group');
  const r = addSystemUsers(passwd.text, group.text, names);
  if (!r.added.length) return [];
  await writeFile(passwd.path, r.passwd, { mode: 0o644 });
  await writeFile(group.path, r.group, { mode: 0o644 });
  return r.added;
}

/** busybox + aios-init and its libraries + kernel modules + rootfs/ overlay, and its manifest. */
export async function stageRootfs(ctx: BuildContext): Promise<void> {
  const init = need(ctx, 'init');
  const kernel = need(ctx, 'kernel');
  const overlay = join(ctx.opts.root, 'rootfs');
  const runtime = need(ctx, 'runtime');
  const model = need(ctx, 'model');
  const gpu = ctx.gpuModules;
  const gpuUser = ctx.gpuUserspace;
  const info = (m: string) => ctx.log.info(m);
  const busybox = await fetchDeb('busybox-static', join(ctx.opts.cacheDir, 'downloads'), info);
  const mtools = await fetchDeb('mtools', join(ctx.opts.cacheDir, 'downloads'), info);
  const keys = need(ctx, 'keys');
  const cfg = ctx.opts.config;
  const project = need(ctx, 'projectInputs');
  // The host libraries copied in are inputs too: a glibc update must make a new image.
  const hostLibs = [...new Set([...init.libs, ...runtime.systemLibs, ...(gpuUser?.record.systemLibs ?? [])])].sort();
  const lacking = (runtime.driverLibs ?? []).filter((l) => !gpuUser?.record.sonames.includes(l));
  if (lacking.length)
    throw new Error(
      `llama-server's GPU backend needs ${lacking.join(', ')} from the NVIDIA driver's user space, which this image does not have: set gpu.nvidia "open" and gpu.nvidiaUserspace true, or leave cuda out of runtime.backends`,
    );
  const hook = await hookInputs(cfg.hooks, ctx.opts.configFile, (m) => ctx.log.warn(m));
  const tokens = cfg.auth.status === 'token' || cfg.auth.inference === 'token' ? await projectTokens(ctx.opts.projectDir) : undefined;
  if (tokens) ctx.log.info(`access tokens: ${tokens.file}${tokens.made ? ' (made now)' : ''}; aios run and aios check read them from the image`);
  const inputs = {
    version: STEP_VERSION,
    after: {
      init: init.dir,
      kernel: kernel.dir,
      runtime: runtime.dir,
      ...(gpu ? { gpuModules: gpu.dir } : {}),
      ...(gpuUser ? { gpuUserspace: gpuUser.dir } : {}),
    },
    trees: { overlay, ...Object.fromEntries(project.overlays.map((o, i) => [`overlay[${i}]`, o])), ...hook.trees },
    tools: ['depmod', 'dpkg-deb'],
    files: {
      busybox: busybox.deb,
      mtools: mtools.deb,
      ibm850: HOST_IBM850,
      updateCert: keys.dbCert,
      ...Object.fromEntries(hostLibs.map((l) => [l, l])),
      ...(cfg.hooks.postinst ? { postinst: cfg.hooks.postinst } : {}),
      ...hook.files,
    },
    values: {
      model: model.sha256,
      runtimeConfig: cfg.runtime,
      auth: cfg.auth,
      tokens: tokens && sha256(JSON.stringify(tokens.tokens)),
      services: cfg.services,
      ioCost: cfg.ioCost,
      update: cfg.update,
      ...projectKey(project),
      epoch: ctx.sourceDateEpoch,
      ...hook.values,
    },
  };
  const dir = await cachedStep(ctx, inputs, async (out) => {
    const tree = join(out, 'tree');
    for (const d of ROOT_DIRS) await mkdir(join(tree, d), { recursive: true });
    await chmod(join(tree, 'tmp'), 0o1777);
    await chmod(join(tree, 'var/tmp'), 0o1777);
    await chmod(join(tree, 'root'), 0o700);
    ctx.log.info('busybox-static');
    await run('dpkg-deb', ['-x', busybox.deb, join(out, 'busybox-deb')]);
    await installBusybox(join(out, 'busybox-deb', 'bin', 'busybox'), tree);
    // mtools: aios-init reads and renames systemd-boot's entries on the EFI partition without mounting it.
    await run('dpkg-deb', ['-x', mtools.deb, join(out, 'mtools-deb')]);
    await copyFile(join(out, 'mtools-deb', MTOOLS.slice(1)), join(tree, MTOOLS.slice(1)));
    await chmod(join(tree, MTOOLS.slice(1)), 0o755);
    await rm(join(out, 'mtools-deb'), { recursive: true });
    await mkdir(join(tree, GCONV_DIR.slice(1)), { recursive: true });
    await copyFile(HOST_IBM850, join(tree, GCONV_DIR.slice(1), 'IBM850.so'));
    await writeFile(join(tree, GCONV_DIR.slice(1), 'gconv-modules'), GCONV_MODULES);
    // The certificate update manifests must be signed by: the db certificate the UKIs are signed with.
    await mkdir(join(tree, dirname(UPDATE_CERT.slice(1))), { recursive: true });
    await copyFile(keys.dbCert, join(tree, UPDATE_CERT.slice(1)));
    await chmod(join(tree, UPDATE_CERT.slice(1)), 0o644);
    ctx.log.info('aios-init, and the host libraries it and llama-server need');
    await copyFile(init.binary, join(tree, 'usr/sbin/aios-init'));
    await chmod(join(tree, 'usr/sbin/aios-init'), 0o755);
    for (const lib of hostLibs) {
      await mkdir(join(tree, dirname(lib)), { recursive: true });
      await copyFile(lib, join(tree, lib));
      await chmod(join(tree, lib), 0o755);
    }
    ctx.log.info(`kernel modules of ${kernel.release}`);
    await cp(join(kernel.dir, 'modules', 'lib', 'modules'), join(tree, 'lib', 'modules'), { recursive: true });
    if (gpu) {
      ctx.log.info(`NVIDIA ${gpu.record.driver} modules and GSP firmware; depmod`);
      await cp(gpu.modulesTree, tree, { recursive: true });
      await cp(gpu.firmwareTree, tree, { recursive: true });
      // The kernel's modules.dep does not know extra/: depmod again over the whole tree, as the image will see it.
      await run('depmod', ['-b', tree, '-F', join(kernel.dir, 'System.map'), kernel.release]);
    }
    if (gpuUser) {
      ctx.log.info(`NVIDIA user space ${gpuUser.record.debianVersion}: ${gpuUser.record.packages.map((p) => p.name).join(', ')}`);
      await cp(gpuUser.tree, tree, { recursive: true, verbatimSymlinks: true });
    }
    // Links stay as written (etc/resolv.conf -> ../run/aios/resolv.conf): cp would make them absolute host paths.
    await cp(overlay, tree, { recursive: true, verbatimSymlinks: true });
    const fromProject = await applyProjectInputs(project, tree, join(out, 'scratch'), ctx.opts.cacheDir, ctx.opts.configFile, info);
    await rm(join(out, 'scratch'), { recursive: true, force: true });
    ctx.log.info(`llama-server and the model ${model.name}`);
    const libs = await installRuntime(tree, runtime, model);
    await mkdirInside(tree, 'etc/aios', 'writing /etc/aios/init.json');
    const initJson = await pathInside(tree, 'etc/aios/init.json', 'writing /etc/aios/init.json');
    if ((await lstat(initJson).catch(() => undefined))?.isSymbolicLink())
      throw new Error(
        `/etc/aios/init.json of the root filesystem is a link (to ${await readlink(initJson)}): an overlay, package or image must give it as a file`,
      );
    const own = existsSync(initJson) ? (JSON.parse(await readFile(initJson, 'utf8')) as Record<string, unknown>) : {};
    const { base, runtime: rt } = withTokens(own, cfg.runtime, cfg.auth, tokens?.tokens);
    const { text } = assembleInitJson({
      base,
      services: [...cfg.services, ...fromProject.services],
      ioCost: cfg.ioCost,
      runtime: rt,
      model,
      serverOptions: new Set(runtime.options),
      update: cfg.update,
      configFile: ctx.opts.configFile,
      baseFile: join(overlay, 'etc/aios/init.json'),
    });
    await writeFile(initJson, text);
    // A token or API key in it: readable by root (PID 1) only, not by every service.
    if (holdsSecrets(JSON.parse(text) as Record<string, unknown>)) await chmod(initJson, 0o600);
    const users = await addServiceUsers(tree, namedServiceUsers(assertInitJsonAccepted(text, '/etc/aios/init.json')));
    if (users.length) ctx.log.info(`service users: ${users.map((u) => `${u.name} (${u.uid})`).join(', ')}`);
    const env = hookEnv({ hook: 'postinst', root: tree, out: ctx.opts.outDir, project: ctx.opts.projectDir, epoch: ctx.sourceDateEpoch });
    await runHook('postinst', cfg.hooks.postinst, env, ctx.opts.projectDir, info);
    await run('chmod', ['-R', 'go-w', tree]);
    await chmod(join(tree, 'tmp'), 0o1777);
    await chmod(join(tree, 'var/tmp'), 0o1777);
    await pinTimes(tree, ctx.sourceDateEpoch);
    const manifest = await buildManifest(tree);
    refuse(
      'the staged root filesystem',
      undeclaredEntries(manifest, project.allow),
      "Whatever put them there (a package, an image, an overlay, hooks.postinst) must not, or aios.json's `allow` declares them.",
    );
    const bad = unsafeEntries(manifest);
    if (bad.length) throw new Error(`the root filesystem holds unsafe files:\n  ${bad.slice(0, 20).join('\n  ')}`);
    const runtimeRecord = {
      server: SERVER_PATH,
      commit: runtime.commit,
      from: runtime.from,
      files: runtime.files.map((f) => `${RUNTIME_DIR}/${f}`),
      libraries: libs,
      model: { path: `${MODELS_DIR}/${model.file}`, name: model.name, sha256: model.sha256, bytes: model.bytes },
    };
    const gpuRecord = gpu && {
      driver: gpu.record.driver,
      from: gpu.record.from,
      firmwarePackage: gpu.record.firmwarePackage,
      modules: gpu.record.modules,
      firmware: gpu.record.firmware,
      ...(gpuUser
        ? {
            userspace: {
              debianVersion: gpuUser.record.debianVersion,
              packages: gpuUser.record.packages,
              files: gpuUser.record.files,
              links: gpuUser.record.links,
              providedBy: gpuUser.record.providedBy,
              leftOut: gpuUser.record.leftOut,
            },
          }
        : {}),
    };
    const packages = project.packages.map((d) => ({ name: d.package, version: d.version, sha256: d.sha256 }));
    const privileged = privilegedEntries(manifest);
    const record = { release: kernel.release, runtime: runtimeRecord, gpu: gpuRecord, packages, images: fromProject.images, privileged, files: manifest };
    await writeFile(join(out, 'manifest.json'), JSON.stringify(record, null, 1) + '\n');
  });
  ctx.rootfs = { dir, tree: join(dir, 'tree'), manifest: join(dir, 'manifest.json') };
  // The one place init.json is read back: from this step's own output, cached or just made.
  ctx.initConfig = assertInitJsonAccepted(await readFile(join(ctx.rootfs.tree, 'etc/aios/init.json'), 'utf8'), '/etc/aios/init.json');
  const asRoot = rootServices(ctx.initConfig);
  if (asRoot.length) ctx.log.warn(`services that run as root (their user is root): ${asRoot.join(', ')} (build.json's rootServices)`);
  const m = JSON.parse(await readFile(ctx.rootfs.manifest, 'utf8')) as {
    files: unknown[];
    privileged: ReturnType<typeof privilegedEntries>;
    packages: ProjectRecord['packages'];
    images: ProjectRecord['images'];
  };
  ctx.project = { packages: m.packages ?? [], images: m.images ?? [] };
  ctx.log.info(
    `${m.files.length} entries in the root filesystem; ${m.privileged.setuid.length} setuid/setgid, ${m.privileged.devices.length} device nodes (manifest.json's privileged)`,
  );
}
