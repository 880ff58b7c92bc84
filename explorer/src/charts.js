// Small SVG charts drawn from the event index: no library, one bar per block.
import { esc } from './format.js';

/**
 * Stacked bars, one per block of `blocks` (numbers, oldest first); `series` is
 * [{ name, color, value(block), total? }] (`total`: the legend's figure, if not the sum of the
 * values). Returns an SVG element as text, with a legend.
 */
export function bars(title, blocks, series, { unit = '' } = {}) {
  const width = 640;
  const height = 120;
  const totals = blocks.map((b) => series.reduce((sum, s) => sum + s.value(b), 0));
  const top = Math.max(1, ...totals);
  const step = width / Math.max(1, blocks.length);
  const rects = [];
  blocks.forEach((block, index) => {
    let y = height;
    for (const s of series) {
      const value = s.value(block);
      if (value <= 0) continue;
      const h = (value / top) * (height - 10);
      y -= h;
      rects.push(
        `<rect x="${(index * step).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, step - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"><title>${esc(`block ${block}: ${s.name} ${value}${unit}`)}</title></rect>`,
      );
    }
  });
  const legend = series
    .map((s) => `<span class="key"><i style="background:${s.color}"></i>${esc(s.name)} ${esc(s.total ?? `${blocks.reduce((sum, b) => sum + s.value(b), 0)}${unit}`)}</span>`)
    .join(' ');
  const range = blocks.length ? `blocks ${blocks[0]}–${blocks[blocks.length - 1]}` : 'no blocks yet';
  return `<figure class="chart"><figcaption>${esc(title)} <small>${range}, peak ${top}${unit}</small></figcaption>
    <svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${esc(title)}">${rects.join('')}
    <line x1="0" y1="${height}" x2="${width}" y2="${height}" stroke="#999"/></svg><div class="legend">${legend}</div></figure>`;
}

/** A histogram of `values` (whole numbers) with one bar per value. */
export function histogram(title, values, unit) {
  if (values.length === 0) return `<figure class="chart"><figcaption>${esc(title)}</figcaption><p class="muted">no data in the blocks read</p></figure>`;
  const max = Math.max(...values);
  const counts = Array.from({ length: max + 1 }, (_, v) => values.filter((x) => x === v).length);
  const keys = counts.map((_, v) => v);
  return bars(title, keys, [{ name: `jobs (x: ${unit})`, color: '#4a7bd0', value: (v) => counts[v] }]).replace(
    /blocks (\d+)–(\d+)/,
    `${unit} $1–$2`,
  );
}
