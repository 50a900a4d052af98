import * as echarts from 'echarts';

/**
 * Renders one chart to an SVG string with echarts' server-side renderer (no DOM, no canvas).
 *
 * echarts names its CSS classes and clip-path ids from process-wide counters (`zr3-cls-17`, `zr3-c0`),
 * so the same report would render differently depending on what ran before in the process. Those
 * names are rewritten, in order of first appearance, to ones derived from the chart's position in this
 * report (`lk2-cls-0`), which keeps the output deterministic and the ids unique within the page.
 */
export function renderSvg(
  option: echarts.EChartsOption,
  width: number,
  height: number,
  chartIndex: number,
): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  let svg: string;
  try {
    chart.setOption({ animation: false, ...option });
    svg = chart.renderToSVGString();
  } finally {
    // An undisposed SSR instance keeps timers alive and would hold the process open.
    chart.dispose();
  }
  const names = new Map<string, string>();
  const rename = (name: string, kind: string): string => {
    let out = names.get(name);
    if (out === undefined) {
      out = `lk${chartIndex}-${kind}${names.size}`;
      names.set(name, out);
    }
    return out;
  };
  const styleAt = svg.indexOf('<style');
  const head = styleAt < 0 ? svg : svg.slice(0, styleAt);
  const tail = styleAt < 0 ? '' : svg.slice(styleAt);
  // Only attribute values and style selectors are rewritten; text is escaped by echarts, so it cannot
  // contain `class="` and is left alone.
  const attrs = /(class="|id="|url\(#)(zr\d+-([a-z]+)-?\d+)/g;
  const fix = (part: string): string =>
    part.replace(attrs, (_m, pre: string, name: string, kind: string) => pre + rename(name, kind));
  return (
    fix(head) +
    fix(tail).replace(
      /\.(zr\d+-([a-z]+)-?\d+)/g,
      (_m, name: string, kind: string) => `.${rename(name, kind)}`,
    )
  );
}
