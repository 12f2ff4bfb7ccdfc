// Time charts on uPlot: one x axis of seconds, one or two y scales, sized to their container and
// coloured from the page's theme (Pico's CSS variables follow prefers-color-scheme).
//
// The data stays readable for people and tests alike: the chart element carries `voltlabChart`
// (its series as arrays) and `data-points` (how many samples it draws).

import uPlot from '../vendor/uplot/uPlot.esm.js';

const PALETTE = ['#1f77b4', '#e8710a', '#2ca02c', '#9467bd'];

function themeColor(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

export class TimeChart {
  /** `series`: [{label, scale, color?, points?, bars?}], at most two scales (left, right). */
  constructor(element, { series, height = 220, maxPoints = 5000 }) {
    this.element = element;
    this.maxPoints = maxPoints;
    this.columns = [[], ...series.map(() => [])];
    const text = themeColor('--pico-color', '#444');
    const grid = themeColor('--pico-muted-border-color', 'rgba(128,128,128,0.2)');
    const scales = [...new Set(series.map((s) => s.scale))];
    const axes = [
      { stroke: text, grid: { stroke: grid } },
      ...scales.map((scale, index) => ({
        scale,
        label: scale,
        stroke: text,
        grid: { show: index === 0, stroke: grid },
        side: index === 0 ? 3 : 1,
      })),
    ];
    const options = {
      width: Math.max(element.clientWidth, 240),
      height,
      scales: { x: { time: true } },
      axes,
      legend: { live: true },
      series: [
        {},
        ...series.map((s, index) => {
          const color = s.color || PALETTE[index % PALETTE.length];
          return {
            label: s.label,
            scale: s.scale,
            stroke: color,
            width: 2,
            // A line needs two samples; a series of few buckets shows its points too.
            points: { show: Boolean(s.points), size: 7 },
            // Amounts per time bucket are bars: a line between two buckets would draw values
            // that no bucket holds.
            ...(s.bars ? { paths: uPlot.paths.bars({ size: [0.6, 64] }), fill: `${color}88` } : {}),
          };
        }),
      ],
    };
    this.plot = new uPlot(options, this.columns, element);
    this.resizer = new ResizeObserver(() => {
      this.plot.setSize({ width: Math.max(element.clientWidth, 240), height });
    });
    this.resizer.observe(element);
    element.voltlabChart = this;
    this.publish();
  }

  /** Replace everything: `rows` of [unixSeconds, value, value...]. */
  setRows(rows) {
    this.columns = this.columns.map((_, index) => rows.map((row) => row[index] ?? null));
    this.redraw();
  }

  append(row) {
    const x = row[0];
    const xs = this.columns[0];
    // Samples arrive in order; one that is not newer than the last (a retransmission, or a
    // sample both a reload and the live channel delivered) is dropped, not sorted in.
    if (xs.length && x <= xs[xs.length - 1]) return;
    this.columns.forEach((column, index) => column.push(row[index] ?? null));
    if (xs.length > this.maxPoints) this.columns.forEach((column) => column.shift());
    this.redraw();
  }

  redraw() {
    this.plot.setData(this.columns);
    this.publish();
  }

  publish() {
    this.element.dataset.points = String(this.columns[0].length);
  }

  /** The data as plain arrays (x first), what the chart draws. */
  get data() {
    return this.columns.map((column) => [...column]);
  }

  destroy() {
    this.resizer.disconnect();
    this.plot.destroy();
    delete this.element.voltlabChart;
  }
}

export function unixSeconds(iso) {
  return new Date(iso).getTime() / 1000;
}
