// Charts of the demo, all uPlot: line charts (live training curves and the lab's plots), histograms
// (stepped uPlot series) and heatmaps. A heatmap is a uPlot chart too (its axes, scales and cursor):
// the colored grid is an image painted under the plot area in the drawClear hook, and data points and
// paths are painted over it in the draw hook, at positions from uPlot's own valToPos.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** tab10: distinct series and class colors. */
export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface SeriesSpec {
  label: string;
  color?: string;
  dash?: number[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: SeriesSpec[];
  logY?: boolean;
  width?: number;
  height?: number;
  /** Points drawn over the lines (e.g. the early-stopping epoch). */
  markers?: { label: string; x: number; y: number }[];
}

/** A line chart whose data is replaced by update(): x first, then one array per series. */
export class LineChart {
  readonly plot: uPlot;
  private markers: { label: string; x: number; y: number }[];

  constructor(readonly el: HTMLElement, readonly opts: LineChartOptions) {
    this.markers = opts.markers ?? [];
    const logY = opts.logY === true;
    this.plot = new uPlot({
      title: opts.title,
      width: opts.width ?? chartWidth(el),
      height: opts.height ?? 240,
      scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
      // Tick labels through fmt: uPlot's default shows 1e-4 on a log axis as "0".
      axes: [{ label: opts.xLabel }, { label: opts.yLabel, size: 60, values: (_u, splits) => splits.map((v) => (v == null ? '' : fmt(v))) }],
      series: [
        { label: opts.xLabel },
        ...opts.series.map((s, i) => ({
          label: s.label,
          stroke: s.color ?? PALETTE[i % PALETTE.length],
          width: 2,
          dash: s.dash,
          spanGaps: true,
          value: (_u: uPlot, v: number | null) => (v == null ? '–' : fmt(v)),
        })),
      ],
      hooks: { draw: [(u) => this.drawMarkers(u)] },
    }, emptyData(opts.series.length), el);
  }

  /** Replaces the data: [x, y1, y2, ...] (null where a series has no value). */
  update(data: (number | null)[][]): void {
    this.plot.setData(data as uPlot.AlignedData);
  }

  private drawMarkers(u: uPlot): void {
    if (this.markers.length === 0) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    // uPlot leaves the alignment of its last axis label in the context.
    ctx.textBaseline = 'alphabetic';
    for (const m of this.markers) {
      const x = u.valToPos(m.x, 'x', true);
      const y = u.valToPos(m.y, 'y', true);
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      ctx.fillStyle = '#d62728';
      ctx.beginPath();
      ctx.arc(x, y, 5 * devicePixelRatio, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = '#222';
      // Right of the point, or left of it when the label would leave the plot.
      const right = x + 8 * devicePixelRatio + ctx.measureText(m.label).width <= u.bbox.left + u.bbox.width;
      ctx.textAlign = right ? 'left' : 'right';
      ctx.fillText(m.label, right ? x + 8 * devicePixelRatio : x - 8 * devicePixelRatio, y - 6 * devicePixelRatio);
    }
    ctx.restore();
  }
}

/**
 * A line chart from series that each have their own x values (the lab's plots): uPlot.join aligns
 * them on the union of the x values (gaps spanned). Values that a log scale cannot show (<= 0) are dropped.
 */
export function staticLineChart(el: HTMLElement, opts: Omit<LineChartOptions, 'series'> & {
  series: { label: string; x: number[]; y: number[] }[];
}): LineChart {
  const chart = new LineChart(el, { ...opts, series: opts.series.map((s) => ({ label: s.label })) });
  const tables = opts.series.map((s) => {
    const pairs = s.x.map((x, i) => [x, s.y[i]] as const)
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!opts.logY || y > 0))
      .sort((a, b) => a[0] - b[0]);
    return [pairs.map((p) => p[0]), pairs.map((p) => p[1])] as uPlot.AlignedData;
  });
  if (tables.length > 0) chart.update(uPlot.join(tables) as (number | null)[][]);
  return chart;
}

/** Overlaid histograms (one stepped, lightly filled series each) on shared bin edges. */
export class HistogramChart {
  readonly plot: uPlot;

  constructor(readonly el: HTMLElement, opts: { title: string; xLabel: string; series: string[]; width?: number; height?: number }) {
    this.plot = new uPlot({
      title: opts.title,
      width: opts.width ?? chartWidth(el),
      height: opts.height ?? 200,
      scales: { x: { time: false } },
      axes: [{ label: opts.xLabel }, { label: 'share of values', size: 60 }],
      series: [
        { label: opts.xLabel, value: (_u: uPlot, v: number | null) => (v == null ? '–' : fmt(v)) },
        ...opts.series.map((label, i) => ({
          label,
          stroke: PALETTE[i % PALETTE.length],
          fill: PALETTE[i % PALETTE.length] + '33',
          width: 1.5,
          paths: uPlot.paths.stepped!({ align: 1 }),
          points: { show: false },
          value: (_u: uPlot, v: number | null) => (v == null ? '–' : (100 * v).toFixed(1) + '%'),
        })),
      ],
    }, emptyData(opts.series.length), el);
  }

  /** Histograms of each array on common edges (`bins` bins over the pooled range), as shares of each array. */
  update(arrays: ArrayLike<number>[], bins = 40): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const a of arrays) for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i])) { lo = Math.min(lo, a[i]); hi = Math.max(hi, a[i]); }
    if (!(hi >= lo)) return;
    if (hi === lo) { lo -= 0.5; hi += 0.5; }
    const width = (hi - lo) / bins;
    // Left edges, plus the right edge so the last step has a width.
    const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
    const shares = arrays.map((a) => {
      const counts = new Array<number>(bins + 1).fill(0);
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        if (!Number.isFinite(a[i])) continue;
        counts[Math.min(bins - 1, Math.floor((a[i] - lo) / width))]++;
        n++;
      }
      counts[bins] = counts[bins - 1]; // the closing step repeats the last bin
      return counts.map((c) => (n ? c / n : 0));
    });
    this.plot.setData([edges, ...shares] as uPlot.AlignedData);
  }
}

/** What a heatmap shows: a grid of values or of class colors, with points and paths over it. */
export interface HeatmapData {
  /** Cell centers, ascending and evenly spaced. */
  xs: number[];
  ys: number[];
  /** Scalar values, row-major (ys.length rows × xs.length cols): colored by the viridis map. */
  values?: ArrayLike<number>;
  logScale?: boolean;
  /** Or per-cell class probabilities, row-major cells × classes: colored by the blended class colors. */
  probs?: { values: ArrayLike<number>; classes: number };
  /** Data points drawn over the map, colored by class. */
  points?: { x: ArrayLike<number>; y: ArrayLike<number>; cls: ArrayLike<number> };
  /** Polylines (e.g. optimizer trajectories), each with a start dot. */
  paths?: { label: string; points: [number, number][] }[];
}

/** A heatmap on uPlot axes (see the file comment). */
export class HeatmapChart {
  readonly plot: uPlot;
  private data: HeatmapData | null = null;
  private image: HTMLCanvasElement | null = null;
  /** [min, max] of the scalar values shown (after the log), for the color bar. */
  range: [number, number] | null = null;
  private readonly legend: HTMLElement;

  constructor(readonly el: HTMLElement, opts: { title: string; xLabel: string; yLabel: string; width?: number; height?: number }) {
    const size = opts.width ?? Math.min(chartWidth(el), 420);
    this.plot = new uPlot({
      title: opts.title,
      width: size,
      height: opts.height ?? size,
      scales: {
        x: { time: false, auto: false },
        y: { auto: false },
      },
      axes: [{ label: opts.xLabel, grid: { show: false } }, { label: opts.yLabel, size: 50, grid: { show: false } }],
      legend: { show: false },
      cursor: { show: true, points: { show: false } },
      // One invisible series so the y scale exists; the content is painted by the hooks.
      series: [{}, { scale: 'y', stroke: 'transparent', points: { show: false } }],
      hooks: {
        drawClear: [(u) => this.drawImage(u)],
        draw: [(u) => this.drawOverlay(u)],
      },
    }, [[0, 1], [0, 1]] as uPlot.AlignedData, el);
    this.legend = document.createElement('div');
    this.legend.className = 'heat-legend';
    this.legend.style.maxWidth = `${size}px`;
    el.append(this.legend);
  }

  update(d: HeatmapData): void {
    this.data = d;
    this.image = this.renderImage(d);
    // The scales are fixed (auto: false): set them to the map's extent, which redraws.
    this.plot.setData([this.bounds('x'), this.bounds('y')] as uPlot.AlignedData, false);
    this.plot.batch(() => {
      const [x0, x1] = this.bounds('x');
      const [y0, y1] = this.bounds('y');
      this.plot.setScale('x', { min: x0, max: x1 });
      this.plot.setScale('y', { min: y0, max: y1 });
    });
    this.renderLegend(d);
  }

  private bounds(axis: 'x' | 'y'): [number, number] {
    const v = axis === 'x' ? this.data?.xs : this.data?.ys;
    if (!v || v.length === 0) return [0, 1];
    const half = v.length > 1 ? (v[1] - v[0]) / 2 : 0.5;
    return [v[0] - half, v[v.length - 1] + half];
  }

  private renderImage(d: HeatmapData): HTMLCanvasElement {
    const cols = d.xs.length;
    const rows = d.ys.length;
    const canvas = document.createElement('canvas');
    canvas.width = cols;
    canvas.height = rows;
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(cols, rows);
    const put = (r: number, c: number, rgb: [number, number, number]) => {
      const o = ((rows - 1 - r) * cols + c) * 4; // row 0 is the lowest y: the bottom of the image
      img.data[o] = rgb[0];
      img.data[o + 1] = rgb[1];
      img.data[o + 2] = rgb[2];
      img.data[o + 3] = 255;
    };
    if (d.probs) {
      const k = d.probs.classes;
      const colors = PALETTE.slice(0, k).map(hexRgb);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const cell = (r * cols + c) * k;
          let best = 0;
          const rgb: [number, number, number] = [0, 0, 0];
          for (let j = 0; j < k; j++) {
            const p = d.probs.values[cell + j];
            best = Math.max(best, p);
            for (let ch = 0; ch < 3; ch++) rgb[ch] += p * colors[j][ch];
          }
          // Pale where the model is unsure (max p near 1/k), stronger where it is confident.
          const conf = k > 1 ? Math.max(0, (best - 1 / k) / (1 - 1 / k)) : 1;
          const t = 0.25 + 0.45 * conf;
          put(r, c, [0, 1, 2].map((ch) => Math.round(255 * (1 - t) + rgb[ch] * t)) as [number, number, number]);
        }
      }
      this.range = null;
    } else if (d.values) {
      const v = Array.from(d.values, (x) => (d.logScale ? Math.log10(Math.max(x, 1e-300)) : x));
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of v) if (Number.isFinite(x)) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
      if (!(hi > lo)) { hi = lo + 1; }
      this.range = [lo, hi];
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const x = v[r * cols + c];
          put(r, c, Number.isFinite(x) ? viridis((x - lo) / (hi - lo)) : [255, 255, 255]);
        }
      }
    }
    ctx.putImageData(img, 0, 0);
    return canvas;
  }

  private drawImage(u: uPlot): void {
    if (!this.image) return;
    const { left, top, width, height } = u.bbox;
    u.ctx.save();
    u.ctx.imageSmoothingEnabled = this.data?.probs !== undefined; // smooth class maps, crisp value grids
    u.ctx.drawImage(this.image, left, top, width, height);
    u.ctx.restore();
  }

  private drawOverlay(u: uPlot): void {
    const d = this.data;
    if (!d) return;
    const ctx = u.ctx;
    const px = devicePixelRatio;
    ctx.save();
    ctx.beginPath();
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height);
    ctx.clip();
    if (d.points) {
      const n = d.points.x.length;
      ctx.lineWidth = 1 * px;
      ctx.strokeStyle = '#fff';
      for (let i = 0; i < n; i++) {
        const x = u.valToPos(d.points.x[i], 'x', true);
        const y = u.valToPos(d.points.y[i], 'y', true);
        ctx.fillStyle = PALETTE[d.points.cls[i] % PALETTE.length];
        ctx.beginPath();
        ctx.arc(x, y, 3 * px, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
      }
    }
    (d.paths ?? []).forEach((p, i) => {
      if (p.points.length === 0) return;
      const color = pathColor(i);
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 2 * px;
      ctx.beginPath();
      p.points.forEach(([a, b], j) => {
        const x = u.valToPos(a, 'x', true);
        const y = u.valToPos(b, 'y', true);
        if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
      const [a, b] = p.points[0];
      ctx.beginPath();
      ctx.arc(u.valToPos(a, 'x', true), u.valToPos(b, 'y', true), 4 * px, 0, 2 * Math.PI);
      ctx.fill();
    });
    ctx.restore();
  }

  private renderLegend(d: HeatmapData): void {
    const parts: string[] = [];
    if (this.range) {
      const [lo, hi] = this.range;
      const label = (x: number) => (d.logScale ? fmt(10 ** x) : fmt(x));
      const stops = Array.from({ length: 9 }, (_, i) => `rgb(${viridis(i / 8).join(',')})`).join(',');
      parts.push(`<span class="item">${label(lo)} <span class="colorbar" style="background:linear-gradient(to right,${stops})"></span> ${label(hi)}${d.logScale ? ' <em>(log scale)</em>' : ''}</span>`);
    }
    for (const [i, p] of (d.paths ?? []).entries()) {
      parts.push(`<span class="item"><span class="swatch" style="background:${pathColor(i)}"></span> ${escapeHtml(p.label)}</span>`);
    }
    this.legend.innerHTML = parts.join('');
  }
}

/** Paths are drawn over viridis maps: bright, saturated colors that stand out on it. */
function pathColor(i: number): string {
  return ['#ff2d55', '#ffffff', '#ff9500', '#00e5ff', '#ff00ff', '#ffcc00'][i % 6];
}

/** Viridis, 9 stops, linearly interpolated; t in [0, 1]. */
export function viridis(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
  ];
  const x = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))) as [number, number, number];
}

export function hexRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** A number for a label: 4 significant digits, exponent form when very small or large. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2).replace(/\.?0+e/, 'e'); // 1.00e-4 → 1e-4
  return String(Number(v.toPrecision(4)));
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function emptyData(series: number): uPlot.AlignedData {
  return [[], ...Array.from({ length: series }, () => [])] as unknown as uPlot.AlignedData;
}

function chartWidth(el: HTMLElement): number {
  return Math.max(280, Math.min(560, el.clientWidth || 420));
}
