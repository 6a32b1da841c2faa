// One panel per wt.lab experiment, built generically from the registry: the description, a form from
// the experiment's `defaults` (numbers, strings, booleans), Run / Cancel, progress, and the LabResult
// drawn as uPlot line charts (plots), heatmaps with paths over them, an HTML table and the summary.
import * as wt from '../src/index';
import { HeatmapChart, escapeHtml, fmt, staticLineChart } from './charts';
import { bundledDigits } from './datasets';
import type { DemoState } from './state';

type Experiment = wt.lab.Experiment;
type LabResult = wt.lab.LabResult;
type OptionValue = wt.lab.OptionValue;
type RunOptions = wt.lab.RunOptions;

/** The experiments of wt.lab, in registry order. */
export function labExperiments(): Experiment[] {
  return Object.values(wt.lab.experiments as Record<string, Experiment>);
}

/** The panel of one experiment. */
export class LabPanel {
  readonly el: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly runButton: HTMLButtonElement;
  private readonly cancelButton: HTMLButtonElement;
  private readonly progress: HTMLProgressElement;
  private readonly message: HTMLElement;
  private readonly output: HTMLElement;
  private abort: AbortController | null = null;

  constructor(readonly experiment: Experiment, private readonly demo: DemoState) {
    const x = experiment;
    this.el = document.createElement('section');
    this.el.className = 'lab-panel';
    this.el.dataset.experiment = x.id;
    this.el.innerHTML = `
      <h2>${escapeHtml(x.title)}</h2>
      <p class="description">${escapeHtml(x.description)}</p>
      <form class="lab-form" autocomplete="off">${Object.entries(x.defaults as Record<string, OptionValue>).map(([k, v]) => field(k, v)).join('')}</form>
      <div class="buttons">
        <button class="primary" data-action="run">Run</button>
        <button data-action="cancel" disabled>Cancel</button>
        <button data-action="defaults">Defaults</button>
        <progress max="1" value="0"></progress>
        <span class="lab-message"></span>
      </div>
      <div class="lab-output"></div>`;
    this.form = this.el.querySelector('form')!;
    this.runButton = this.el.querySelector('[data-action="run"]')!;
    this.cancelButton = this.el.querySelector('[data-action="cancel"]')!;
    this.progress = this.el.querySelector('progress')!;
    this.message = this.el.querySelector('.lab-message')!;
    this.output = this.el.querySelector('.lab-output')!;
    this.form.addEventListener('submit', (e) => { e.preventDefault(); void this.run(); });
    this.runButton.addEventListener('click', () => void this.run());
    this.cancelButton.addEventListener('click', () => this.abort?.abort());
    this.el.querySelector('[data-action="defaults"]')!.addEventListener('click', () => this.resetForm());
  }

  /** Runs the experiment with the form's settings and draws the result. */
  async run(): Promise<void> {
    if (this.abort) return;
    const lab = this.demo.lab;
    if (lab.running) {
      this.message.textContent = `Wait: ${lab.running} is running.`;
      return;
    }
    this.abort = new AbortController();
    lab.running = this.experiment.id;
    lab.error = undefined;
    this.runButton.disabled = true;
    this.cancelButton.disabled = false;
    this.progress.value = 0;
    this.message.textContent = 'starting…';
    const started = performance.now();
    try {
      const run: RunOptions = {
        signal: this.abort.signal,
        onProgress: (fraction, message) => {
          this.progress.value = fraction;
          this.message.textContent = `${Math.round(100 * fraction)}%${message ? ` · ${message}` : ''}`;
        },
      };
      // Settings and run options in one object, as run() takes them (the settings' index type and
      // the callbacks' types do not intersect in TypeScript, hence the cast).
      // The image experiments (those with a digit `source` setting) take digits as arrays: give them
      // the page's bundled MNIST subset, which the library cannot load by itself in a browser.
      const digits = 'source' in (this.experiment.defaults as object) ? { digits: await bundledDigits() } : {};
      const result = await this.experiment.run({ ...this.readForm(), ...run, ...digits } as Parameters<Experiment['run']>[0]);
      const seconds = (performance.now() - started) / 1000;
      this.progress.value = 1;
      this.message.textContent = `done in ${seconds.toFixed(1)} s on ${wt.backend().name}`;
      this.render(result);
      lab.last = {
        id: result.id, seconds, plots: result.plots.length, heatmaps: result.heatmaps?.length ?? 0,
        tableRows: result.table?.rows.length ?? 0, summary: { ...result.summary },
      };
    } catch (e) {
      const aborted = e instanceof Error && e.name === 'AbortError';
      const msg = e instanceof Error ? e.message : String(e);
      this.message.textContent = aborted ? 'cancelled' : `Error: ${msg}`;
      if (!aborted) {
        console.error(e);
        lab.error = msg;
      }
    } finally {
      lab.running = null;
      this.abort = null;
      this.runButton.disabled = false;
      this.cancelButton.disabled = true;
    }
  }

  private render(r: LabResult): void {
    this.output.innerHTML = '';
    const summary = Object.entries(r.summary);
    if (summary.length) {
      const dl = document.createElement('dl');
      dl.className = 'summary';
      dl.innerHTML = summary.map(([k, v]) => {
        const text = typeof v === 'number' ? fmt(v) : v;
        return `<div${text.length > 24 ? ' class="long"' : ''}><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(text)}</dd></div>`;
      }).join('');
      this.output.append(dl);
    }
    const charts = document.createElement('div');
    charts.className = 'lab-charts';
    this.output.append(charts);
    for (const p of r.plots) {
      const box = document.createElement('div');
      box.className = 'chart';
      box.dataset.chart = 'lab-plot';
      charts.append(box);
      staticLineChart(box, { title: p.title, xLabel: p.xLabel, yLabel: p.yLabel, logY: p.logY, series: p.series, markers: p.markers, width: 460, height: 300 });
    }
    for (const h of r.heatmaps ?? []) {
      const box = document.createElement('div');
      box.className = 'chart';
      box.dataset.chart = 'lab-heatmap';
      charts.append(box);
      new HeatmapChart(box, { title: h.title, xLabel: h.xLabel, yLabel: h.yLabel, width: 380, height: 380 })
        .update({ xs: h.xs, ys: h.ys, values: h.values, logScale: h.logScale, paths: h.paths });
    }
    if (r.table) {
      const t = document.createElement('table');
      t.className = 'lab-table';
      const cell = (v: string | number) => escapeHtml(typeof v === 'number' ? fmt(v) : v);
      t.innerHTML = `<thead><tr>${r.table.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead>` +
        `<tbody>${r.table.rows.map((row) => `<tr>${row.map((v) => `<td>${cell(v)}</td>`).join('')}</tr>`).join('')}</tbody>`;
      this.output.append(t);
    }
  }

  /** The form's values, typed as the defaults are (an empty number field keeps its default). */
  private readForm(): Record<string, OptionValue> {
    const out: Record<string, OptionValue> = {};
    for (const [k, v] of Object.entries(this.experiment.defaults as Record<string, OptionValue>)) {
      const el = this.form.elements.namedItem(k) as HTMLInputElement;
      if (typeof v === 'boolean') out[k] = el.checked;
      else if (typeof v === 'number') out[k] = el.value === '' || !Number.isFinite(Number(el.value)) ? v : Number(el.value);
      else out[k] = el.value;
    }
    return out;
  }

  private resetForm(): void {
    for (const [k, v] of Object.entries(this.experiment.defaults as Record<string, OptionValue>)) {
      const el = this.form.elements.namedItem(k) as HTMLInputElement;
      if (typeof v === 'boolean') el.checked = v;
      else el.value = String(v);
    }
  }
}

/** A form field for one setting: checkbox for booleans, number input for numbers, text otherwise. */
function field(key: string, v: OptionValue): string {
  const name = escapeHtml(key);
  const label = escapeHtml(key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase());
  if (typeof v === 'boolean') return `<label class="field check"><input type="checkbox" name="${name}"${v ? ' checked' : ''}><span>${label}</span></label>`;
  if (typeof v === 'number') return `<label class="field"><span>${label}</span><input type="number" step="any" name="${name}" value="${v}"></label>`;
  return `<label class="field"><span>${label}</span><input type="text" name="${name}" value="${escapeHtml(v)}"></label>`;
}
