import { symbolsIn, type KconfigTree } from './kconfig.ts';
import { valueOf, type ConfigLine } from './fragments.ts';

export type Problem =
  | { kind: 'unknown'; request: ConfigLine; suggestion?: string }
  | { kind: 'dropped'; request: ConfigLine; got: string; unmet: { expr: string; off: string[] }[] }
  | { kind: 'forced'; request: ConfigLine; got: string; selectedBy: string[] }
  | { kind: 'changed'; request: ConfigLine; got: string; reason: string };

const isOn = (v: string) => v === 'y' || v === 'm';
const norm = (v: string) => (v === '' ? 'n' : v);

function suggest(name: string, tree: KconfigTree): string | undefined {
  // A cheap "did you mean": same letters in a different case or one character off.
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of tree.keys()) {
    if (Math.abs(k.length - name.length) > 2) continue;
    let d = 0;
    for (let i = 0; i < Math.max(k.length, name.length) && d < 3; i++) if (k[i] !== name[i]) d++;
    if (d < bestScore) [best, bestScore] = [k, d];
  }
  return bestScore <= 2 ? best : undefined;
}

/** Compare what the fragments asked for with the final .config and explain every difference. */
export function checkRequests(requests: ReadonlyMap<string, ConfigLine>, config: ReadonlyMap<string, string>, tree: KconfigTree): Problem[] {
  const problems: Problem[] = [];
  for (const req of requests.values()) {
    const s = tree.get(req.symbol);
    if (!s) {
      problems.push({ kind: 'unknown', request: req, suggestion: suggest(req.symbol, tree) });
      continue;
    }
    const want = norm(req.value);
    const got = valueOf(config, req.symbol);
    if (want === got) continue;
    if (want === 'n') {
      const selectedBy = s.selectedBy
        .filter((x) => isOn(valueOf(config, x.by)))
        .map((x) => `${x.by}=${valueOf(config, x.by)}${x.cond ? ` (if ${x.cond})` : ''}`);
      problems.push({ kind: 'forced', request: req, got, selectedBy });
    } else if (got === 'n') {
      // Show each dependency expression that holds an off symbol, with those symbols.
      const exprs = [...new Set(s.depends.flat())];
      const unmet = exprs
        .map((expr) => ({ expr, off: symbolsIn(expr).filter((x) => tree.has(x) && !isOn(valueOf(config, x)) && !expr.includes(`!${x}`)) }))
        .filter((u) => u.off.length);
      problems.push({ kind: 'dropped', request: req, got, unmet });
    } else if (want === 'm' && got === 'y') {
      const by = s.selectedBy.filter((x) => valueOf(config, x.by) === 'y').map((x) => x.by);
      const reason =
        s.type === 'bool'
          ? `${req.symbol} is a bool: it cannot be a module`
          : by.length
            ? `selected by built-in ${by.join(', ')}`
            : 'raised to y by the configuration';
      problems.push({ kind: 'changed', request: req, got, reason });
    } else {
      problems.push({
        kind: 'changed',
        request: req,
        got,
        reason: s.type === 'bool' && want === 'm' ? 'a bool cannot be a module' : 'the configuration chose another value',
      });
    }
  }
  return problems;
}

export function formatProblem(p: Problem): string {
  const where = `${p.request.file}:${p.request.line}`;
  const name = `CONFIG_${p.request.symbol}`;
  switch (p.kind) {
    case 'unknown':
      return `${name}: unknown symbol (asked ${p.request.value} in ${where})${p.suggestion ? `; did you mean CONFIG_${p.suggestion}?` : ''}`;
    case 'dropped':
      return [
        `${name}: asked ${p.request.value}, got n (${where})`,
        ...(p.unmet.length
          ? p.unmet.map((u) => `    depends on ${u.expr}  <- off: ${u.off.join(', ')}`)
          : ['    no dependency is off: it may be a choice member or need a value only `make menuconfig` shows']),
        ...(p.unmet.length ? [`    fix: add ${[...new Set(p.unmet.flatMap((u) => u.off))].map((x) => `CONFIG_${x}=y`).join(' ')} to a fragment`] : []),
      ].join('\n');
    case 'forced':
      return [
        `${name}: asked n, got ${p.got} (${where})`,
        p.selectedBy.length
          ? `    forced on by select from: ${p.selectedBy.join(', ')}`
          : '    forced on: no selecting symbol is on; a default or a choice keeps it',
        ...(p.selectedBy.length ? [`    fix: turn off ${p.selectedBy.map((x) => `CONFIG_${x.split('=')[0]}`).join(', ')} in a fragment`] : []),
      ].join('\n');
    case 'changed':
      return `${name}: asked ${p.request.value}, got ${p.got} (${where}): ${p.reason}`;
  }
}

export function formatReport(problems: readonly Problem[], requested: number): string {
  if (!problems.length) return `all ${requested} requested symbols landed with the value asked`;
  return [`${problems.length} of ${requested} requested symbols did not land:`, ...problems.map(formatProblem)].join('\n');
}
