import type { BuildJson } from '../common/build-json.ts';

/** What `aios run --gdb` can show of this kernel: DWARF and the lx- helpers come from its variants. */
export function gdbKernelNote(kernel: Partial<NonNullable<BuildJson['kernel']>> | undefined, scripts: string | undefined): string {
  if (kernel?.debug)
    return scripts
      ? 'DWARF kernel: source lines, types, and the helpers lx-dmesg, lx-ps, lx-symbols.'
      : `the GDB scripts of this debug kernel (${kernel.gdbScripts}) are gone from the cache: rebuild.`;
  // The trace variant builds DWARF for its BTF, so its vmlinux has source lines and types.
  if (kernel?.trace) return 'DWARF (the kernel.trace variant): source lines and types; set kernel.debug too for the lx- helpers.';
  return 'Symbols only: set kernel.debug in aios.json for DWARF and the lx- helpers.';
}
