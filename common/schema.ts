// A small typed-configuration kit shared by the orchestrator (aios.json) and aios-init (init.json):
// unknown keys are rejected, every error is collected (none stops at the first), each names the
// file and the key, and the same description generates the documentation.

interface Base<K extends string, T> {
  kind: K;
  doc: string;
  default: T;
}
export type StringField = Base<'string', string> & { pattern?: RegExp; patternHint?: string };
export type NumberField = Base<'number', number> & { min?: number; max?: number; integer?: boolean };
export type BoolField = Base<'boolean', boolean>;
export type EnumField<V extends string = string> = Base<'enum', V> & { values: readonly V[] };
export type StringListField = Base<'stringList', string[]> & { values?: readonly string[] };
export type MapField = Base<'map', Record<string, string>>;
export type ObjectField<S extends Spec = Spec> = { kind: 'object'; doc: string; fields: S };
export type ListField<S extends Spec = Spec> = { kind: 'list'; doc: string; item: S; default: [] };
export type Field = StringField | NumberField | BoolField | EnumField | StringListField | MapField | ObjectField | ListField;
export type Spec = { readonly [key: string]: Field };

export type Infer<S extends Spec> = { -readonly [K in keyof S]: InferField<S[K]> };
type InferField<F> =
  F extends EnumField<infer V>
    ? V
    : F extends ObjectField<infer S>
      ? Infer<S>
      : F extends ListField<infer S>
        ? Infer<S>[]
        : F extends Base<string, infer T>
          ? T
          : never;

export const str = (doc: string, def: string, extra: Partial<StringField> = {}): StringField => ({ kind: 'string', doc, default: def, ...extra });
export const num = (doc: string, def: number, extra: Partial<NumberField> = {}): NumberField => ({ kind: 'number', doc, default: def, ...extra });
export const bool = (doc: string, def: boolean): BoolField => ({ kind: 'boolean', doc, default: def });
export const oneOf = <const V extends string>(doc: string, values: readonly V[], def: V): EnumField<V> => ({ kind: 'enum', doc, values, default: def });
export const strList = (doc: string, def: string[], values?: readonly string[]): StringListField => ({ kind: 'stringList', doc, default: def, values });
export const strMap = (doc: string): MapField => ({ kind: 'map', doc, default: {} });
export const obj = <S extends Spec>(doc: string, fields: S): ObjectField<S> => ({ kind: 'object', doc, fields });
export const list = <S extends Spec>(doc: string, item: S): ListField<S> => ({ kind: 'list', doc, item, default: [] });

export interface ConfigError {
  file: string;
  key: string;
  message: string;
}

export function formatErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => `${e.file}: ${e.key || '(top level)'}: ${e.message}`).join('\n');
}

/**
 * `more` less the errors on a key `reported` already has: a value the schema refused is defaulted,
 * and a later check may refuse the default again. One error per key.
 */
export function unreported(reported: readonly ConfigError[], more: readonly ConfigError[]): ConfigError[] {
  return more.filter((e) => !reported.some((x) => x.key === e.key));
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function closest(word: string, options: readonly string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0]![j] = j;
    for (let i = 1; i <= a.length; i++)
      for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const dd = dist(word.toLowerCase(), o.toLowerCase());
    if (dd < bestD) [best, bestD] = [o, dd];
  }
  return best;
}

/** Defaults for a whole spec. */
export function defaults<S extends Spec>(spec: S): Infer<S> {
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(spec)) out[k] = f.kind === 'object' ? defaults(f.fields) : structuredClone(f.kind === 'list' ? [] : f.default);
  return out as Infer<S>;
}

/** Validate `input` against `spec`; bad values are reported and replaced by their defaults. */
export function parseConfig<S extends Spec>(spec: S, input: unknown, file: string, prefix = ''): { value: Infer<S>; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const value = defaults(spec) as Record<string, unknown>;
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (input === undefined || input === null) return { value: value as Infer<S>, errors };
  if (typeof input !== 'object' || Array.isArray(input)) {
    errors.push({ file, key: prefix, message: `expected an object, got ${typeName(input)}` });
    return { value: value as Infer<S>, errors };
  }
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    const f = spec[k];
    if (!f) {
      const hint = closest(k, Object.keys(spec));
      errors.push({ file, key: at(k), message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; known keys: ${Object.keys(spec).join(', ')}` });
      continue;
    }
    const r = parseField(f, v, file, at(k));
    errors.push(...r.errors);
    if (r.ok) value[k] = r.value;
  }
  return { value: value as Infer<S>, errors };
}

function parseField(f: Field, v: unknown, file: string, key: string): { ok: boolean; value?: unknown; errors: ConfigError[] } {
  const bad = (message: string) => ({ ok: false, errors: [{ file, key, message }] });
  switch (f.kind) {
    case 'string':
      if (typeof v !== 'string') return bad(`expected a string, got ${typeName(v)}`);
      if (f.pattern && !f.pattern.test(v)) return bad(`"${v}" is not ${f.patternHint ?? `of the form ${f.pattern}`}`);
      return { ok: true, value: v, errors: [] };
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) return bad(`expected a number, got ${typeName(v)}`);
      if (f.integer && !Number.isInteger(v)) return bad(`expected a whole number, got ${v}`);
      if (f.min !== undefined && v < f.min) return bad(`${v} is below the minimum ${f.min}`);
      if (f.max !== undefined && v > f.max) return bad(`${v} is above the maximum ${f.max}`);
      return { ok: true, value: v, errors: [] };
    case 'boolean':
      return typeof v === 'boolean' ? { ok: true, value: v, errors: [] } : bad(`expected true or false, got ${typeName(v)}`);
    case 'enum':
      return typeof v === 'string' && f.values.includes(v)
        ? { ok: true, value: v, errors: [] }
        : bad(`expected one of ${f.values.join(', ')}, got ${typeName(v)}`);
    case 'stringList': {
      if (!Array.isArray(v)) return bad(`expected a list of strings, got ${typeName(v)}`);
      const errs = v.flatMap((x, i) =>
        typeof x !== 'string'
          ? [{ file, key: `${key}[${i}]`, message: `expected a string, got ${typeName(x)}` }]
          : f.values && !f.values.includes(x)
            ? [{ file, key: `${key}[${i}]`, message: `expected one of ${f.values.join(', ')}, got "${x}"` }]
            : [],
      );
      return errs.length ? { ok: false, errors: errs } : { ok: true, value: v, errors: [] };
    }
    case 'map': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return bad(`expected an object of strings, got ${typeName(v)}`);
      const errs = Object.entries(v).flatMap(([k, x]) =>
        typeof x === 'string' ? [] : [{ file, key: `${key}.${k}`, message: `expected a string, got ${typeName(x)}` }],
      );
      return errs.length ? { ok: false, errors: errs } : { ok: true, value: v, errors: [] };
    }
    case 'object': {
      const r = parseConfig(f.fields, v, file, key);
      return { ok: true, value: r.value, errors: r.errors };
    }
    case 'list': {
      if (!Array.isArray(v)) return bad(`expected a list, got ${typeName(v)}`);
      const items = v.map((x, i) => parseConfig(f.item, x, file, `${key}[${i}]`));
      return { ok: true, value: items.map((r) => r.value), errors: items.flatMap((r) => r.errors) };
    }
  }
}

/** Markdown reference of a spec: one row per key, with its type, default and meaning. */
export function describe(spec: Spec, prefix = ''): string[] {
  const rows: string[] = [];
  for (const [k, f] of Object.entries(spec)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (f.kind === 'object') rows.push(...describe(f.fields, key));
    else if (f.kind === 'list') rows.push(`| \`${key}[]\` | list of objects | \`[]\` | ${f.doc} |`, ...describe(f.item, `${key}[]`));
    else {
      const type =
        f.kind === 'enum'
          ? f.values.map((x) => `\`${x}\``).join(' \\| ')
          : f.kind === 'stringList'
            ? 'list of strings'
            : f.kind === 'map'
              ? 'object of strings'
              : f.kind;
      rows.push(`| \`${key}\` | ${type} | \`${JSON.stringify(f.default)}\` | ${f.doc} |`);
    }
  }
  return rows;
}
