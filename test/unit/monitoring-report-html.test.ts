import type { Features } from '../../src/schemas/records';
import {
  accumulate,
  buildProfile,
  checkSkew,
  computeDrift,
  createAccumulator,
  escapeHtml,
  renderDriftHtml,
} from '../../src/monitoring';
import type { DriftHtmlInput } from '../../src/monitoring';

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A reference and a drifted window with a feature literally named `<script>` and a hostile value. */
function fixture(): DriftHtmlInput {
  const reference: Features[] = range(1, 600).map((i) => ({
    '<script>': i % 7,
    country: ['US', 'UK', 'DE'][i % 3],
    query_length: i,
  }));
  const profile = buildProfile(reference, {
    scoreRows: range(1, 600).map((i) => ({ spam: (i % 100) / 100 })),
    positiveClass: 'spam',
  });
  const acc = createAccumulator(profile);
  range(1, 600).forEach((i) =>
    accumulate(
      acc,
      {
        '<script>': (i % 7) + 3,
        country: i % 2 === 0 ? '<img src="https://evil.example/x.png">' : 'United States',
        query_length: i * 2,
      },
      { spam: 0.9 },
    ),
  );
  return {
    modelId: 'spam-filter',
    window: { from: '2026-06-01T00:00:00.000Z', to: '2026-06-08T00:00:00.000Z' },
    drift: computeDrift(profile, acc, { features: { query_length: { warn: 0.15 } } }),
    skew: checkSkew(profile, acc),
  };
}

describe('renderDriftHtml', () => {
  const input = fixture();
  const html = renderDriftHtml(input);

  it('is one HTML page with inline SVG charts', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // 1 PSI chart + 3 feature histograms + 1 score histogram.
    expect(html.match(/<svg\b/g)).toHaveLength(5);
    expect(html).toContain('PSI per feature');
    // Skew findings come before the PSI chart, and alerts are styled red.
    expect(html.indexOf('id="skew"')).toBeLessThan(html.indexOf('id="psi"'));
    expect(html).toMatch(/<tr class="sev-alert">/);
    expect(html).toMatch(/tr\.sev-alert td\{color:#b71c1c/);
  });

  it('makes no network requests: no scripts, and the only URLs are SVG namespace names', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<(link|iframe|object|embed|img)\b/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//i);
    // No tag has a src/href/xlink:href/action attribute at all. Tags are scanned rather than the whole
    // page because escaped text (e.g. a category value "<img src=…>") may legitimately read " src=".
    const tags = [...html.matchAll(/<[a-zA-Z][^>]*>/g)].map((t) => t[0]);
    for (const tag of tags)
      expect(tag).not.toMatch(/\s(src|href|xlink:href|action|srcset|poster|background)\s*=/i);
    // Inside markup, every "http://" or "https://" is the value of an xmlns attribute on an <svg> tag:
    // a namespace name, which browsers never fetch.
    const allowed = new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']);
    const inTags = tags.flatMap((tag) =>
      [...tag.matchAll(/https?:\/\/[^\s"'<>)]*/g)].map((m) => ({ tag, m })),
    );
    expect(inTags).toHaveLength(2 * 5);
    for (const { tag, m } of inTags) {
      expect(tag.startsWith('<svg ')).toBe(true);
      expect(tag.slice(0, m.index)).toMatch(/\sxmlns(:xlink)?="$/);
      expect(allowed.has(m[0])).toBe(true);
    }
    // Outside markup a URL can only be escaped text: the hostile category value is shown, not loaded.
    expect(html).toContain('&lt;img src=&quot;https://evil.example/x.png&quot;&gt;');
    // A Content-Security-Policy makes the browser enforce the same.
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('escapes a feature named <script> everywhere, in HTML and inside the charts', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain(`<code>${escapeHtml('<script>')}</code>`);
    expect(html).toContain('&lt;script&gt;');
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('has a table with PSI, KL, JS and level for every feature and the score', () => {
    const table = html.slice(html.indexOf('id="table"'));
    for (const h of ['PSI', 'KL(cur‖ref)', 'JS distance', 'Level']) expect(table).toContain(`<th>${h}</th>`);
    for (const f of [...input.drift.features, ...input.drift.scores]) {
      expect(table).toContain(`<code>${escapeHtml(f.feature)}</code>`);
      expect(table).toContain((f.psi as number).toFixed(4));
    }
  });

  it('renders identically every time (echarts instance counters do not leak into the output)', () => {
    expect(renderDriftHtml(input)).toBe(html);
    expect(html).not.toMatch(/zr\d+-/);
  });
});
