import { readFile } from 'node:fs/promises';

/** One `CONFIG_X=...` or `# CONFIG_X is not set` line of a fragment or of a .config. */
export interface ConfigLine {
  symbol: string; // without the CONFIG_ prefix
  value: string; // y, m, n, or the literal right-hand side (strings keep their quotes)
  file: string;
  line: number;
}

const SET = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET = /^#\s*CONFIG_([A-Za-z0-9_]+) is not set\s*$/;

export function parseConfigText(text: string, file: string): { lines: ConfigLine[]; errors: string[] } {
  const lines: ConfigLine[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const t = raw.trim();
    let m = UNSET.exec(t);
    if (m) return void lines.push({ symbol: m[1]!, value: 'n', file, line: i + 1 });
    if (!t || t.startsWith('#')) return;
    m = SET.exec(t);
    if (!m) return void errors.push(`${file}:${i + 1}: not a config line: "${t}" (expected CONFIG_NAME=value or "# CONFIG_NAME is not set")`);
    lines.push({ symbol: m[1]!, value: m[2]!.trim(), file, line: i + 1 });
  });
  return { lines, errors };
}

/** A fragment's lines; any line that is not a config line fails, naming file and line. */
export function parseFragment(text: string, file: string): ConfigLine[] {
  const { lines, errors } = parseConfigText(text, file);
  if (errors.length) throw new Error(`bad kernel config fragment:\n${errors.join('\n')}`);
  return lines;
}

export async function readFragment(file: string): Promise<ConfigLine[]> {
  return parseFragment(await readFile(file, 'utf8'), file);
}

/**
 * What the fragments ask for, in merge order: a later fragment overrides an earlier one, as
 * merge_config.sh does. The winning line is kept so that reports can name file and line.
 */
export function mergeRequests(fragments: readonly ConfigLine[][]): Map<string, ConfigLine> {
  const out = new Map<string, ConfigLine>();
  for (const frag of fragments) for (const l of frag) out.set(l.symbol, l);
  return out;
}

/** The final .config as symbol -> value, where an absent or "is not set" symbol is n. */
export function parseDotConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of parseConfigText(text, '.config').lines) out.set(l.symbol, l.value);
  return out;
}

export function valueOf(config: ReadonlyMap<string, string>, symbol: string): string {
  return config.get(symbol) ?? 'n';
}
