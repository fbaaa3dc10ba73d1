import { NVIDIA_MODULES } from './pins.ts';

/** Pure builders of the NVIDIA modules' make command lines, so that tests can check them. */
export interface NvidiaMake {
  /** The modules' tree (Kbuild, conftest.sh, nvidia/, nvidia-uvm/, ...). */
  tree: string;
  kernelSrc: string;
  kernelObj: string;
  jobs: number;
  ccache: boolean;
}

/** NVIDIA's own Makefile: it runs conftest.sh against the kernel tree, then kbuild. */
export function nvidiaModulesArgs(m: NvidiaMake): string[] {
  return [
    '-C',
    m.tree,
    `-j${m.jobs}`,
    `SYSSRC=${m.kernelSrc}`,
    `SYSOUT=${m.kernelObj}`,
    'ARCH=x86_64',
    // The compiler that built the kernel: ccache only adds a cache in front of the same gcc.
    `CC=${m.ccache ? 'ccache gcc' : 'gcc'}`,
    `NV_KERNEL_MODULES=${NVIDIA_MODULES.join(' ')}`,
    // __FILE__ of the modules' own sources (WARN_ON, UVM's asserts) must not carry the build
    // directory, or two builds in two places differ; the kernel maps its own tree the same way.
    `KCFLAGS=-ffile-prefix-map=${m.tree}/=`,
    'modules',
  ];
}

/** The kernel's modules_install for the external tree: stripped, under extra/, depmod left to the rootfs step. */
export function nvidiaInstallArgs(m: NvidiaMake, stagingDir: string): string[] {
  return [
    '-C',
    m.kernelSrc,
    `O=${m.kernelObj}`,
    `M=${m.tree}`,
    'ARCH=x86_64',
    `NV_KERNEL_MODULES=${NVIDIA_MODULES.join(' ')}`,
    `INSTALL_MOD_PATH=${stagingDir}`,
    'INSTALL_MOD_DIR=extra',
    'INSTALL_MOD_STRIP=1',
    'DEPMOD=true',
    'modules_install',
  ];
}
