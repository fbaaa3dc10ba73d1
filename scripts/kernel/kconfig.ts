import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

/** What the report needs to know about one Kconfig symbol. */
export interface KSymbol {
  name: string;
  type?: 'bool' | 'tristate' | 'string' | 'int' | 'hex';
  /** One entry per definition: the `depends on` expressions in force (own, `if` blocks, menus). */
  depends: string[][];
  /** Who selects this symbol, and under which condition. */
  selectedBy: { by: string; cond?: string }[];
  definedAt: string[];
}

export type KconfigTree = Map<string, KSymbol>;

interface Block {
  kind: 'if' | 'menu' | 'choice';
  deps: string[];
}

const TYPES = new Set(['bool', 'tristate', 'string', 'int', 'hex']);

function sym(tree: KconfigTree, name: string): KSymbol {
  let s = tree.get(name);
  if (!s) tree.set(name, (s = { name, depends: [], selectedBy: [], definedAt: [] }));
  return s;
}

/** Joined logical lines of a Kconfig file, help text dropped, with their line numbers. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  const raw = text.split('\n');
  const width = (s: string) => s.replace(/\t/g, '        ').search(/\S/);
  for (let i = 0; i < raw.length; i++) {
    let l = raw[i]!;
    const start = i;
    while (l.endsWith('\\') && i + 1 < raw.length) l = l.slice(0, -1) + raw[++i];
    const t = l.trim();
    if (t === 'help' || t === '---help---') {
      const base = width(l);
      while (i + 1 < raw.length && (raw[i + 1]!.trim() === '' || width(raw[i + 1]!) > base)) i++;
      continue;
    }
    if (t && !t.startsWith('#')) out.push({ text: t.replace(/\s+#.*$/, ''), line: start + 1 });
  }
  return out;
}

/**
 * Read the Kconfig tree rooted at `root` (the source tree's top Kconfig), following `source`.
 * Only what explains a dropped symbol is kept: types, dependencies and reverse selects.
 */
export function readKconfigTree(srcDir: string, vars: Record<string, string> = { SRCARCH: 'x86', ARCH: 'x86_64' }): KconfigTree {
  const tree: KconfigTree = new Map();
  const blocks: Block[] = [];
  const expand = (p: string) => p.replace(/\$\((\w+)\)/g, (_, v: string) => vars[v] ?? '');

  const readFile = (rel: string, dir: string) => {
    const path = rel.startsWith('/') ? rel : join(dir, rel);
    if (!existsSync(path)) return;
    let current: { sym?: KSymbol; deps?: string[]; block?: Block } = {};
    for (const { text, line } of logicalLines(readFileSync(path, 'utf8'))) {
      const [word = '', ...rest] = text.split(/\s+/);
      const arg = rest.join(' ');
      switch (word) {
        case 'config':
        case 'menuconfig': {
          const s = sym(tree, arg);
          const deps = blocks.flatMap((b) => b.deps);
          s.depends.push(deps);
          s.definedAt.push(`${rel}:${line}`);
          current = { sym: s, deps };
          break;
        }
        case 'if':
          blocks.push({ kind: 'if', deps: [arg] });
          current = {};
          break;
        case 'endif':
        case 'endmenu':
        case 'endchoice':
          blocks.pop();
          current = {};
          break;
        case 'menu':
        case 'choice': {
          const b: Block = { kind: word, deps: [] };
          blocks.push(b);
          current = { block: b };
          break;
        }
        case 'source':
        case 'rsource':
        case 'osource':
        case 'orsource': {
          const target = expand(arg.replace(/^"|"$/g, ''));
          readFile(target, word.startsWith('r') || word === 'orsource' ? join(path, '..') : srcDir);
          current = {};
          break;
        }
        case 'depends':
          if (rest[0] === 'on') {
            const expr = rest.slice(1).join(' ');
            if (current.deps) current.deps.push(expr);
            else if (current.block) current.block.deps.push(expr);
          }
          break;
        case 'select':
          if (current.sym) {
            const m = /^(\S+)(?:\s+if\s+(.*))?$/.exec(arg);
            if (m) sym(tree, m[1]!).selectedBy.push({ by: current.sym.name, cond: m[2] });
          }
          break;
        case 'def_bool':
        case 'def_tristate':
          if (current.sym) current.sym.type = word === 'def_bool' ? 'bool' : 'tristate';
          break;
        case 'comment':
          current = {};
          break;
        default:
          if (TYPES.has(word) && current.sym) current.sym.type = word as KSymbol['type'];
      }
    }
  };
  readFile('Kconfig', srcDir);
  // A symbol that was only ever selected, never defined, does not exist.
  for (const [k, s] of tree) if (!s.definedAt.length) tree.delete(k);
  return tree;
}

/** Symbols named in a Kconfig expression (y, m, n and numbers are constants, not symbols). */
export function symbolsIn(expr: string): string[] {
  const names = expr.match(/[A-Za-z0-9_]+/g) ?? [];
  return [...new Set(names.filter((n) => !/^(y|m|n|\d+)$/.test(n) && /[A-Z]/.test(n)))];
}
