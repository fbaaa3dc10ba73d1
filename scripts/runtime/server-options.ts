/**
 * The options llama-server's `--help` lists, short and long (`-c`, `--ctx-size`). The command
 * line aiOS writes for it uses an option only when this build lists it, and the project's own
 * `runtime.extraArgs` are checked against the same list at build time rather than in a boot.
 */
export function helpOptions(help: string): string[] {
  const found = new Set<string>();
  for (const line of help.split('\n')) {
    if (!line.startsWith('-')) continue;
    // "-fit,  --fit [on|off]        whether to ...": the option fields come before the description.
    for (const field of line.split(/\s{2,}/)) {
      if (!field.startsWith('-')) break;
      for (const m of field.matchAll(/(?:^|[\s,])(--?[A-Za-z][\w-]*)/g)) found.add(m[1]!);
    }
  }
  return [...found].sort();
}

/** The option names in a command line (`--ctx-size=512` names `--ctx-size`); values (`2`, `-1`, a path) are not options. */
export function optionNames(args: readonly string[]): string[] {
  return args.filter((a) => /^--?[A-Za-z]/.test(a)).map((a) => a.split('=')[0]!);
}

/** The options in `args` that `known` lacks. */
export function unknownOptions(args: readonly string[], known: ReadonlySet<string>): string[] {
  return optionNames(args).filter((o) => !known.has(o));
}
