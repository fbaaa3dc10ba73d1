import { copyFile, readFile, writeFile, chmod, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { build, version as esbuildVersion } from 'esbuild';
import { cachedStep } from '../pipeline/cache.ts';
import type { BuildContext } from '../pipeline/context.ts';
import { run } from '../../common/exec.ts';
import { NODE_INCLUDE_DIRS } from '../host/tools.ts';
import { neededLibs } from '../lib/elf.ts';
import { seaConfig, postjectArgs, addonCompileArgs, initBundleOptions, codeCacheArgs, ADDON_SOURCES } from '../sea/sea.ts';
import { ADDON_ASSET, CACHE_ASSET, CODE_ASSET, wrapCommonJs } from '../../common/code-cache.ts';
import { resolveGuestNode } from '../sea/node-source.ts';
import { nodeSupportEnds, nodeSupportWarning } from '../sea/node-support.ts';

const STEP_VERSION = 3;
const MAKER = 'scripts/sea/make-code-cache.ts';

function nodeIncludeDir(): string {
  const found = NODE_INCLUDE_DIRS.find((d) => existsSync(join(d, 'node_api.h')));
  if (!found)
    throw new Error(
      `node_api.h not found in ${NODE_INCLUDE_DIRS.join(', ')}: install Node.js headers (Debian: libnode-dev; \`aios doctor\` checks this before a build)`,
    );
  return found;
}

/**
 * What the aios-init step's cache key derives from. Every build setting counts, the addon's list of
 * C sources included: a source added to it must not reuse an addon compiled without it.
 */
export function bundleInitInputs(root: string, node: string, nodeApiHeader: string) {
  return {
    version: STEP_VERSION,
    trees: { init: join(root, 'init'), common: join(root, 'common') },
    // The node binary itself becomes aios-init; esbuild and postject make it; the addon compiles against node_api.h.
    files: { node, postject: createRequire(import.meta.url).resolve('postject/package.json'), maker: join(root, MAKER), nodeApi: nodeApiHeader },
    tools: ['gcc'],
    values: {
      esbuild: esbuildVersion,
      bundle: JSON.stringify(initBundleOptions('main.ts', 'out.cjs')),
      sea: JSON.stringify(seaConfig('main', 'blob', { addon: 'addon' })),
      codeCache: codeCacheArgs('maker', 'wrapped', 'out').join(' '),
      addon: addonCompileArgs(ADDON_SOURCES, 'out', 'include').join(' '),
    },
  };
}

/** init/ (TypeScript) -> esbuild bundle -> Node single executable with the syscall addon inside. */
export async function bundleInit(ctx: BuildContext): Promise<void> {
  const root = ctx.opts.root;
  const cfg = ctx.opts.config.init;
  const node = await resolveGuestNode({ cacheDir: ctx.opts.cacheDir, spec: cfg.node, registry: cfg.registry, info: (m) => ctx.log.info(m) });
  const unsupported = nodeSupportWarning(node.version, new Date(), node.origin === 'npm');
  if (unsupported) ctx.log.warn(`!!! ${unsupported}`);
  const inputs = bundleInitInputs(root, node.binary, join(nodeIncludeDir(), 'node_api.h'));
  const dir = await cachedStep(ctx, inputs, async (out) => {
    ctx.log.info('compiling the system-call addon');
    const addon = join(out, ADDON_ASSET);
    await run(
      'gcc',
      addonCompileArgs(
        ADDON_SOURCES.map((f) => join(root, 'init/addon', f)),
        addon,
        nodeIncludeDir(),
      ),
    );
    ctx.log.info('bundling init/src with esbuild');
    const bundle = join(out, 'aios-init.cjs');
    await build(initBundleOptions(join(root, 'init/src/main.ts'), bundle));
    await writeFile(join(out, CODE_ASSET), wrapCommonJs(await readFile(bundle, 'utf8')));
    await build(initBundleOptions(join(root, 'init/src/loader.ts'), join(out, 'loader.cjs')));
    ctx.log.info("making V8's code cache for it");
    await build(initBundleOptions(join(root, MAKER), join(out, 'make-code-cache.cjs')));
    // The cache and the blob are made by the node that runs them: V8 refuses another version's
    // cache, and the blob's format is the SEA's of that version. V8 flags from NODE_OPTIONS would
    // go into the cache's flag hash, and PID 1 runs without them.
    await run(node.binary, codeCacheArgs('make-code-cache.cjs', CODE_ASSET, CACHE_ASSET), { cwd: out, env: { NODE_OPTIONS: undefined } });
    const blob = join(out, 'sea.blob');
    const cfgFile = join(out, 'sea-config.json');
    // Relative names: the blob records the main script's path, which must not be the cache's.
    const assets = { [ADDON_ASSET]: ADDON_ASSET, [CODE_ASSET]: CODE_ASSET, [CACHE_ASSET]: CACHE_ASSET };
    await writeFile(cfgFile, JSON.stringify(seaConfig('loader.cjs', 'sea.blob', assets), null, 2));
    await run(node.binary, ['--experimental-sea-config', 'sea-config.json'], { cwd: out, env: { NODE_OPTIONS: undefined } });
    const binary = join(out, 'aios-init');
    await copyFile(node.binary, binary);
    await chmod(binary, 0o755);
    ctx.log.info('stripping the node binary and injecting the blob (postject)');
    await run('strip', ['--strip-all', binary]);
    const postject = join(dirname(createRequire(import.meta.url).resolve('postject/package.json')), 'dist', 'cli.js');
    await run(process.execPath, [postject, ...postjectArgs(binary, blob)]);
    await writeFile(
      join(out, 'libs.json'),
      JSON.stringify(
        (await neededLibs(binary)).map((l) => l.path),
        null,
        2,
      ),
    );
  });
  const binary = join(dir, 'aios-init');
  const libs = JSON.parse(await readFile(join(dir, 'libs.json'), 'utf8')) as string[];
  const bytes = (await stat(binary)).size;
  ctx.log.info(`aios-init: Node.js ${node.version} (${node.origin}), ${(bytes / 1e6).toFixed(1)} MB, needs ${libs.length} shared libraries`);
  ctx.init = {
    dir,
    binary,
    addon: join(dir, ADDON_ASSET),
    libs,
    bytes,
    node: { origin: node.origin, from: node.from, version: node.version, supportEnds: nodeSupportEnds(node.version) },
  };
}
