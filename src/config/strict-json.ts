/**
 * Strict reading of JSON that people write (model policies, the LOOPKEEPER_CONFIG file, queue tuning):
 * a key the schema does not know is an error naming it with its path and the closest known key, so
 * `{"promotoin": "challenger-only"}` is refused instead of silently meaning "the default". Works on the
 * existing (non-strict) schemas by walking them beside the value, so every schema stays one definition
 * and gains strictness wherever a person's JSON enters. Pure: no I/O.
 */
import type { z } from 'zod';
import { closestMatch } from './did-you-mean';

/** The parts of zod's schema definitions the walk needs (zod 4 `_zod.def`). */
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  /** Discriminated unions: the key that selects the branch. */
  discriminator?: string;
  getter?: () => z.ZodType;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Wrappers whose inner schema describes the value itself. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

/** One key a schema does not know. */
export interface UnknownKey {
  /** Dotted path of the key, e.g. `gate.rules[0].metrc`. */
  path: string;
  key: string;
  /** The closest known key at that place, when one is close. */
  suggestion?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * Every key in `value` that `schema` does not declare, at any depth (objects, arrays, records, the
 * matching branch of a union). Objects that explicitly accept extra keys (catchall/passthrough) are
 * left alone.
 */
export function findUnknownKeys(schema: z.ZodType, value: unknown, path = ''): UnknownKey[] {
  let def = defOf(schema);
  for (let guard = 0; guard < 32; guard++) {
    if (WRAPPERS.has(def.type) && def.innerType) def = defOf(def.innerType);
    else if (def.type === 'pipe' && def.in) def = defOf(def.in);
    else if (def.type === 'lazy' && def.getter) def = defOf(def.getter());
    else break;
  }
  const out: UnknownKey[] = [];
  if (def.type === 'object' && def.shape && isPlainObject(value)) {
    const known = Object.keys(def.shape);
    const open = def.catchall !== undefined && defOf(def.catchall).type !== 'never';
    for (const [key, v] of Object.entries(value)) {
      const field = def.shape[key];
      if (field) out.push(...findUnknownKeys(field, v, join(path, key)));
      else if (!open) {
        const suggestion = closestMatch(key, known);
        out.push({ path: join(path, key), key, ...(suggestion ? { suggestion } : {}) });
      }
    }
  } else if (def.type === 'array' && def.element && Array.isArray(value)) {
    value.forEach((v, i) => out.push(...findUnknownKeys(def.element!, v, join(path, i))));
  } else if (def.type === 'record' && def.valueType && isPlainObject(value)) {
    for (const [key, v] of Object.entries(value))
      out.push(...findUnknownKeys(def.valueType, v, join(path, key)));
  } else if (def.type === 'union' && def.options) {
    // Only the branch the value is meant for: the first that accepts it, else (a discriminated union
    // whose value fails in its branch, e.g. a misspelt required key) the branch its discriminator names.
    const key = def.discriminator;
    const branch =
      def.options.find((o) => o.safeParse(value).success) ??
      (key !== undefined && isPlainObject(value)
        ? def.options.find((o) => {
            const field = defOf(o).shape?.[key];
            return field !== undefined && field.safeParse(value[key]).success;
          })
        : undefined);
    if (branch) out.push(...findUnknownKeys(branch, value, path));
  }
  return out;
}

function pathOf(keys: readonly PropertyKey[]): string {
  return keys.reduce<string>((p, k) => join(p, typeof k === 'number' ? k : String(k)), '');
}

/** `path: unknown key "k" (did you mean "x"?)`. */
export function formatUnknownKey(u: UnknownKey): string {
  return `${u.path}: unknown key "${u.key}"${u.suggestion ? ` (did you mean "${u.suggestion}"?)` : ''}`;
}

/** Outcome of a strict parse: the parsed value, or every problem as one line each. */
export type StrictResult<T> = { ok: true; data: T } | { ok: false; problems: string[] };

/**
 * Parses `value` with `schema` and refuses keys the schema does not know. Problems are one line each,
 * `path: message`, unknown keys first (they often explain the other errors).
 */
export function parseStrict<S extends z.ZodType>(schema: S, value: unknown): StrictResult<z.infer<S>> {
  const unknown = findUnknownKeys(schema, value).map(formatUnknownKey);
  const parsed = schema.safeParse(value);
  const issues = parsed.success
    ? []
    : parsed.error.issues
        // A strict object's own unknown-key issue is already reported above, with a suggestion.
        .filter((i) => i.code !== 'unrecognized_keys')
        .map((i) => `${pathOf(i.path) || '(top level)'}: ${i.message}`);
  const problems = [...unknown, ...issues];
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, data: parsed.data };
}
