/**
 * Canonical JSON and content-addressed ids. A retried training activity that produces the same
 * artifact must land on the same version id, so the id is a hash of the content, computed over a
 * canonical form that does not depend on object key order.
 */
import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level (arrays keep their order); undefined members are dropped. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      // defineProperty: a key named "__proto__" must stay a plain own key.
      Object.defineProperty(sorted, k, {
        value: (v as Record<string, unknown>)[k],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return sorted;
  });
}

/** `v-` + the first 12 hex digits of the SHA-256 of the canonical JSON (48 bits: ample per model). */
export function contentVersionId(canonical: string): string {
  return `v-${createHash('sha256').update(canonical).digest('hex').slice(0, 12)}`;
}

/** True when two JSON values are equal regardless of key order. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
