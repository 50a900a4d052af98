/**
 * HTML building for the web app with one escaping function used everywhere: every value interpolated
 * into `html\`…\`` is escaped unless it is already `SafeHtml` (built by `html` itself or marked with
 * `raw`). A feature value, label or name such as `<script>` therefore always shows as text.
 */

/** A piece of HTML that is safe to embed as it is. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for HTML element content and quoted attribute values (the only escaping function). */
export function escapeHtml(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return text.replace(/[&<>"'`]/g, (ch) => ENTITIES[ch]);
}

/** Marks trusted HTML (markup written in this code base, or an inline SVG from the chart renderer). */
export function raw(value: string): SafeHtml {
  return new SafeHtml(value);
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part instanceof SafeHtml) return part.value;
  if (Array.isArray(part)) return (part as readonly Part[]).map(render).join('');
  if (part === null || part === undefined || part === false) return '';
  return escapeHtml(part);
}

/**
 * Tagged template: the literal parts are markup, every `${value}` is escaped (arrays are joined, each
 * element escaped unless SafeHtml; null, undefined and false render as nothing).
 */
export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}
