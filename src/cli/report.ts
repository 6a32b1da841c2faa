/**
 * The run's outputs besides the checkpoint: metrics.csv (one row per epoch) and report.html, loss and
 * accuracy curves drawn by uPlot. uPlot's JS and CSS are inlined from node_modules at build time
 * (vite `?raw`), so the page works offline, opened straight from disk.
 */
import uplotCss from 'uplot/dist/uPlot.min.css?raw';
import uplotJs from 'uplot/dist/uPlot.iife.min.js?raw';
import type { EpochLogs } from '../train/fit';

/** One epoch as the CLI records it (epoch 1-based, as printed). */
export type EpochRow = Omit<EpochLogs, 'epoch'> & { epoch: number };

export interface ReportData {
  title: string;
  device: string;
  config: Record<string, unknown>;
  rows: EpochRow[];
  test?: { loss: number; accuracy?: number; examples: number };
  seconds?: number;
}

const COLUMNS = ['epoch', 'train_loss', 'train_accuracy', 'valid_loss', 'valid_accuracy', 'seconds', 'lr'] as const;

/** metrics.csv: a header, then one row per epoch (empty cells where a value was not computed). */
export function metricsCsv(rows: EpochRow[]): string {
  const cell = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '' : String(v));
  const lines = rows.map((r) => [r.epoch, r.trainLoss, r.trainAccuracy, r.validLoss, r.validAccuracy, round(r.seconds, 3), r.lr].map(cell).join(','));
  return [COLUMNS.join(','), ...lines].join('\n') + '\n';
}

/** report.html: a summary table and the loss and accuracy curves (train and validation) per epoch. */
export function reportHtml(d: ReportData): string {
  const epochs = d.rows.map((r) => r.epoch);
  const series = {
    epochs,
    trainLoss: d.rows.map((r) => r.trainLoss),
    validLoss: d.rows.map((r) => r.validLoss ?? null),
    trainAcc: d.rows.map((r) => (r.trainAccuracy === undefined ? null : 100 * r.trainAccuracy)),
    validAcc: d.rows.map((r) => (r.validAccuracy === undefined ? null : 100 * r.validAccuracy)),
  };
  const summary: [string, string][] = [
    ['device', d.device],
    ['epochs trained', String(d.rows.length)],
    ...(d.test ? [
      ['test loss', d.test.loss.toFixed(4)] as [string, string],
      ['test accuracy', d.test.accuracy === undefined ? '–' : `${(100 * d.test.accuracy).toFixed(2)}% of ${d.test.examples}`] as [string, string],
    ] : []),
    ...(d.seconds !== undefined ? [['time', `${d.seconds.toFixed(1)} s`] as [string, string]] : []),
  ];
  const settings = Object.entries(d.config).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)] as [string, string]);
  const table = (rows: [string, string][]) => `<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(d.title)}</title>
<style>${uplotCss}</style>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
  h1 { font-size: 20px; margin: 0 0 12px; }
  h2 { font-size: 16px; margin: 16px 0 8px; }
  table { border-collapse: collapse; margin-bottom: 16px; }
  td { padding: 2px 12px 2px 0; vertical-align: top; }
  td:first-child { color: #666; }
  .charts { display: flex; flex-wrap: wrap; gap: 24px; }
</style>
</head>
<body>
<h1>${esc(d.title)}</h1>
${table(summary)}
<div class="charts"><div id="loss"></div><div id="accuracy"></div></div>
<h2>Settings</h2>
${table(settings)}
<script>${uplotJs.replace(/<\/script/gi, '<\\/script')}</script>
<script>
const d = ${scriptJson(series)};
const width = Math.min(640, Math.max(320, window.innerWidth - 64));
const axes = (label) => [{ label: 'epoch' }, { label, size: 60 }];
const x = { time: false };
new uPlot({
  title: 'Loss', width, height: 320, scales: { x }, axes: axes('cross-entropy'),
  series: [{ label: 'epoch' },
    { label: 'train', stroke: '#1f77b4', width: 2, value: (u, v) => v == null ? '–' : v.toFixed(4) },
    { label: 'valid', stroke: '#ff7f0e', width: 2, value: (u, v) => v == null ? '–' : v.toFixed(4) }],
}, [d.epochs, d.trainLoss, d.validLoss], document.getElementById('loss'));
new uPlot({
  title: 'Accuracy (%)', width, height: 320, scales: { x }, axes: axes('%'),
  series: [{ label: 'epoch' },
    { label: 'train', stroke: '#1f77b4', width: 2, value: (u, v) => v == null ? '–' : v.toFixed(2) },
    { label: 'valid', stroke: '#ff7f0e', width: 2, value: (u, v) => v == null ? '–' : v.toFixed(2) }],
}, [d.epochs, d.trainAcc, d.validAcc], document.getElementById('accuracy'));
</script>
</body>
</html>
`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside <script>: no '</script>' or '<!--' can close or confuse it. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
