/**
 * Locale-independent formatting for bin labels and human sentences. `toLocaleString` is avoided on
 * purpose: reports must read the same on every worker, whatever its ICU data or LANG.
 */

/**
 * A number with at most `digits` significant digits and no exponent for everyday magnitudes. Thousands
 * are grouped for sentences; interval labels pass `group = false` since "(1,234, 5,678]" would misread.
 */
export function formatNumber(x: number, digits = 4, group = true): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const rounded = Number(x.toPrecision(digits));
  const abs = Math.abs(rounded);
  // String() only switches to exponents below 1e-6 or from 1e21, so this range prints plainly.
  if (abs >= 1e-4 && abs < 1e15) return group ? groupThousands(String(rounded)) : String(rounded);
  return rounded.toExponential(digits - 1).replace(/\.?0+e/, 'e');
}

/** An integer count with thousands separators, e.g. 12,345. */
export function formatCount(n: number): string {
  return groupThousands(String(Math.round(n)));
}

function groupThousands(text: string): string {
  const [int, frac] = text.split('.');
  const grouped = int.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}

/** A rate in [0, 1] as a percentage: "62%", "7.5%", "0.04%". */
export function formatPercent(rate: number): string {
  const pct = rate * 100;
  if (pct === 0) return '0%';
  if (Math.abs(pct) >= 10) return `${Math.round(pct)}%`;
  if (Math.abs(pct) >= 1) return `${Number(pct.toFixed(1))}%`;
  return `${Number(pct.toPrecision(1))}%`;
}

/** A value quoted for a sentence, e.g. 'United States'. */
export function quote(value: string): string {
  return `'${value}'`;
}
