// The picture of the house: which layer may import which. `npm run typecheck` runs it; a unit
// test proves a layer-breaking import fails it. Layers, top down: the face (scripts/cli.ts,
// scripts/commands/), the pipeline (scripts/pipeline/), the steps (scripts/steps/), the domain
// (scripts/<topic>/, qemu/), the library (scripts/lib/, common/). The guest (init/src/) is apart.
const DOMAIN = '^scripts/(kernel|gpu|runtime|rootfs|images|initramfs|sea|host|project|net)/';
const FACE = '^scripts/(commands/|cli\\.ts$)';
const DEV = '^scripts/dev/';

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'a loop makes two modules one; split out what both need', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'host-never-imports-guest',
      comment: 'constants the host and the guest share live in common/',
      severity: 'error',
      from: { path: '^(scripts|qemu|common|bin)/' },
      to: { path: '^init/src/' },
    },
    {
      name: 'guest-imports-only-common',
      comment: 'aios-init is bundled from init/src and common only',
      severity: 'error',
      from: { path: '^init/src/' },
      to: { pathNot: '^(init/src|common)/', dependencyTypesNot: ['core'] },
    },
    { name: 'qemu-imports-only-common', severity: 'error', from: { path: '^qemu/' }, to: { path: '^(scripts|init|bin)/' } },
    { name: 'common-is-a-leaf', severity: 'error', from: { path: '^common/' }, to: { path: '^(scripts|qemu|init|bin)/' } },
    { name: 'lib-is-the-floor', severity: 'error', from: { path: '^scripts/lib/' }, to: { path: '^scripts/(?!lib/)' } },
    {
      name: 'domain-does-not-reach-up',
      comment: 'a topic module knows nothing of the steps, the pipeline or the CLI',
      severity: 'error',
      from: { path: DOMAIN },
      to: { path: `^scripts/(steps|pipeline)/|${FACE}` },
    },
    { name: 'steps-do-not-reach-up', severity: 'error', from: { path: '^scripts/steps/' }, to: { path: `${FACE}|^scripts/pipeline/(runner|steps)\\.ts$` } },
    { name: 'pipeline-does-not-reach-the-face', severity: 'error', from: { path: '^scripts/pipeline/' }, to: { path: FACE } },
    { name: 'product-never-imports-dev-tools', severity: 'error', from: { pathNot: `${DEV}|^test/` }, to: { path: DEV } },
  ],
  options: {
    parser: 'swc',
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
