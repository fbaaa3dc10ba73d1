/** Why an out-of-tree module did not build against this kernel, read from the build's output. */
export interface ApiFailure {
  /** The kernel interface it tripped on: a function, a struct member, a type or an exported symbol. */
  api: string;
  /** Source file and line (relative to the module tree), or the module for a link error. */
  where: string;
  message: string;
}

const Q = `['‘’"]`;
const NAME = `${Q}([^'‘’"]+)${Q}`;
const PATTERNS: [RegExp, (m: RegExpExecArray) => string][] = [
  [new RegExp(`implicit declaration of function ${NAME}`), (m) => `${m[1]}()`],
  [new RegExp(`too (?:few|many) arguments to function ${NAME}`), (m) => `${m[1]}()`],
  [new RegExp(`passing argument \\d+ of ${NAME}`), (m) => `${m[1]}()`],
  [new RegExp(`${Q}(struct [^'‘’"]+)${Q} has no member named ${NAME}`), (m) => `${m[1]}.${m[2]}`],
  [new RegExp(`unknown type name ${NAME}`), (m) => m[1]!],
  [new RegExp(`${NAME} undeclared`), (m) => m[1]!],
  [new RegExp(`(?:storage size|invalid use of undefined type) (?:of )?${NAME}`), (m) => m[1]!],
];

/**
 * Each distinct compiler error and unresolved symbol in a kbuild log, naming the kernel API.
 * Paths are made relative to `tree` so that the message reads the same wherever it was built.
 */
export function apiFailures(log: string, tree = ''): ApiFailure[] {
  const out: ApiFailure[] = [];
  const seen = new Set<string>();
  const add = (f: ApiFailure) => {
    const k = `${f.api}@${f.where}`;
    if (!seen.has(k)) (seen.add(k), out.push(f));
  };
  const rel = (p: string) => (tree && p.startsWith(tree) ? p.slice(tree.length).replace(/^\/+/, '') : p);
  for (const line of log.split('\n')) {
    const cc = /^(\S+?):(\d+):\d+: (?:fatal )?error: (.*)$/.exec(line);
    if (cc) {
      const [, file, lineNo, message] = cc as unknown as [string, string, string, string];
      const hit = PATTERNS.map(([re, name]) => [re.exec(message), name] as const).find(([m]) => m);
      add({ api: hit ? hit[1](hit[0]!) : message, where: `${rel(file)}:${lineNo}`, message });
      continue;
    }
    const ld = /^ERROR: modpost: "([^"]+)" \[([^\]]+)\] undefined!/.exec(line);
    if (ld) add({ api: ld[1]!, where: rel(ld[2]!), message: `${ld[1]} is not exported by this kernel (a configuration symbol is off)` });
  }
  return out;
}

export function describeFailures(fs: readonly ApiFailure[], limit = 8): string {
  return fs
    .slice(0, limit)
    .map((f) => `  ${f.api} (${f.where}): ${f.message}`)
    .concat(fs.length > limit ? [`  ... and ${fs.length - limit} more`] : [])
    .join('\n');
}
