/**
 * Numbers logged as text ("12.5"). One-hot encoding treats each distinct number as its own category,
 * nearly all too rare for the vocabulary, so such a feature silently carries no signal. Shared by the
 * feature pipeline (training summary, optional coercion) and drift monitoring (skew check), so both
 * call the same values numeric.
 */

/** Share of a string feature's values that must read as numbers to call it numbers-as-text. */
export const NUMERIC_STRING_SHARE = 0.95;

/**
 * The finite number `v` spells in plain decimal or exponent notation ("12.5", " -3 ", "1e4"), or NaN
 * for anything else ("", "0x1f", "Infinity", "12 kg"): `Number()` alone would accept hex and blanks.
 */
export function parseNumericString(v: string): number {
  const t = v.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return NaN;
  const x = Number(t);
  return Number.isFinite(x) ? x : NaN;
}

/** True when `v` reads as a finite number (see {@link parseNumericString}). */
export function isNumericString(v: string): boolean {
  return !Number.isNaN(parseNumericString(v));
}
