// The playground: pick a data set, an architecture, an initializer, an optimizer and its schedule,
// regularization and a batch size; train live with wt.train.fit and watch the loss and accuracy
// curves, the decision boundary (2-D data) or predictions (MNIST), and weight and activation histograms.
//
// Training runs on the page's thread: fit yields to the event loop every ~16 ms (yieldEveryMs), and
// the views refresh from its callbacks, so the page stays responsive. Pause parks fit inside its
// onBatchEnd callback (an await); Reset makes that callback throw, which unwinds fit cleanly.
import * as wt from '../src/index';
import { HeatmapChart, HistogramChart, LineChart, PALETTE, fmt } from './charts';
import { DATASETS, loadData, type DataSettings, type LoadedData } from './datasets';
import type { DemoState, PlaygroundState } from './state';

type Module = wt.nn.Module;
type Optimizer = wt.optim.Optimizer<any>;

const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'leakyRelu', 'gelu'] as const;
const INITS = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'normal', 'uniform', 'zeros'] as const;
const NORMS = ['none', 'batch', 'layer'] as const;
const SCHEDULES = ['constant', 'inverse', 'power', 'step', 'exponential', 'cosine', 'warmup'] as const;

export interface Settings extends DataSettings {
  layers: number;
  width: number;
  activation: (typeof ACTIVATIONS)[number];
  init: (typeof INITS)[number];
  norm: (typeof NORMS)[number];
  dropout: number;
  optimizer: wt.train.OptimizerName;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: (typeof SCHEDULES)[number];
  /** The schedule's parameter: δ (inverse, power), N steps (step, warmup), γ (exponential). */
  decay: number;
  l1: number;
  l2: number;
  batchSize: number;
  epochs: number;
}

export const DEFAULTS: Settings = {
  dataset: 'spirals', perClass: 200, noise: 0.05, classes: 2, validFraction: 0.2, seed: 1,
  layers: 3, width: 32, activation: 'relu', init: 'glorotUniform', norm: 'none', dropout: 0,
  optimizer: 'adam', lr: 0.01, momentum: 0.9, weightDecay: 0, schedule: 'cosine', decay: 0.01,
  l1: 0, l2: 0, batchSize: 16, epochs: 100,
};

/** One form control: a select or a number input bound to a key of Settings. */
interface Control {
  key: keyof Settings;
  label: string;
  options?: readonly string[];
  min?: number;
  max?: number;
  step?: number | 'any';
  title?: string;
  /** Shown only when this holds for the current settings. */
  when?: (s: Settings) => boolean;
}

const SCHEDULE_PARAM: Record<Settings['schedule'], string | null> = {
  constant: null, inverse: 'δ in α/(1+δt)', power: 'δ in α/t^δ (0.5–1]', step: 'halve every N steps',
  exponential: 'γ in α·γ^t', cosine: null, warmup: 'warmup steps, then cosine',
};

const GROUPS: { title: string; controls: Control[] }[] = [
  { title: 'Data', controls: [
    { key: 'dataset', label: 'data set', options: DATASETS },
    { key: 'perClass', label: 'points per class', min: 10, max: 2000, step: 10, when: (s) => s.dataset !== 'mnist' },
    { key: 'noise', label: 'noise', min: 0, max: 2, step: 0.01, when: (s) => s.dataset !== 'mnist' },
    { key: 'classes', label: 'classes', min: 2, max: 6, step: 1, when: (s) => s.dataset === 'spirals' || s.dataset === 'blobs' },
    { key: 'validFraction', label: 'validation share', min: 0.05, max: 0.5, step: 0.05 },
    { key: 'seed', label: 'seed', min: 0, step: 1 },
  ] },
  { title: 'Model', controls: [
    { key: 'layers', label: 'hidden layers', min: 0, max: 6, step: 1 },
    { key: 'width', label: 'width', min: 1, max: 512, step: 1 },
    { key: 'activation', label: 'activation', options: ACTIVATIONS },
    { key: 'init', label: 'initializer', options: INITS, title: 'weights of every Linear; biases start at 0. normal is N(0, 1), uniform U[0, 1)' },
  ] },
  { title: 'Optimizer', controls: [
    { key: 'optimizer', label: 'optimizer', options: wt.train.OPTIMIZER_NAMES },
    { key: 'lr', label: 'learning rate α', min: 0, step: 'any' },
    { key: 'momentum', label: 'momentum', min: 0, max: 0.999, step: 0.01, when: (s) => ['sgd', 'momentum', 'nesterov', 'rmsprop'].includes(s.optimizer) },
    { key: 'weightDecay', label: 'weight decay', min: 0, step: 'any', title: "the optimizer's own decay (AdamW: decoupled)" },
    { key: 'schedule', label: 'LR schedule', options: SCHEDULES },
    { key: 'decay', label: 'schedule parameter', min: 0, step: 'any', when: (s) => SCHEDULE_PARAM[s.schedule] !== null },
    { key: 'batchSize', label: 'batch size', min: 1, max: 4096, step: 1 },
    { key: 'epochs', label: 'epochs', min: 1, max: 100000, step: 1 },
  ] },
  { title: 'Regularization', controls: [
    { key: 'l1', label: 'L1 λ', min: 0, step: 'any' },
    { key: 'l2', label: 'L2 λ', min: 0, step: 'any' },
    { key: 'dropout', label: 'dropout p', min: 0, max: 0.9, step: 0.05 },
    { key: 'norm', label: 'normalization', options: NORMS },
  ] },
];

/** What exists between Reset and the next Reset: the data, the model and its optimizer. */
interface Session {
  settings: Settings;
  data: LoadedData;
  model: wt.nn.Sequential;
  optimizer: Optimizer;
  /** 2-D data: the evaluation grid for the decision boundary. */
  grid?: { tensor: wt.Tensor; xs: number[]; ys: number[] };
  epochsDone: number;
  steps: number;
  history: wt.train.EpochLogs[];
}

class ResetSignal extends Error {}

export class Playground {
  private session: Session | null = null;
  private settings: Settings = { ...DEFAULTS };
  private state: PlaygroundState;
  private paused: { promise: Promise<void>; resume: () => void } | null = null;
  private resetRequested = false;
  private running: Promise<void> | null = null;
  private lastViews = 0;

  private readonly form: HTMLFormElement;
  private readonly startButton: HTMLButtonElement;
  private readonly pauseButton: HTMLButtonElement;
  private readonly resetButton: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly modelInfo: HTMLElement;
  private readonly lossChart: LineChart;
  private readonly accChart: LineChart;
  private readonly boundary: HeatmapChart;
  private readonly boundaryBox: HTMLElement;
  private readonly digitsBox: HTMLElement;
  private weightHist: HistogramChart | null = null;
  private actHist: HistogramChart | null = null;
  private readonly weightBox: HTMLElement;
  private readonly actBox: HTMLElement;
  private actNote: HTMLElement = document.createElement('p');

  constructor(root: HTMLElement, demo: DemoState) {
    this.state = demo.playground;
    root.innerHTML = `
      <div class="playground">
        <aside class="controls">
          <form id="pg-form" autocomplete="off"></form>
          <div class="buttons">
            <button id="pg-start" class="primary">Start</button>
            <button id="pg-pause" disabled>Pause</button>
            <button id="pg-reset">Reset</button>
          </div>
          <div id="pg-status" class="status">Press Start to train.</div>
          <div id="pg-model" class="model-info"></div>
        </aside>
        <section class="views">
          <div class="chart" data-chart="loss"></div>
          <div class="chart" data-chart="accuracy"></div>
          <div class="chart" data-chart="boundary"></div>
          <div class="chart digits" data-chart="digits" hidden></div>
          <div class="chart" data-chart="weights"></div>
          <div class="chart" data-chart="activations"></div>
        </section>
      </div>`;
    this.form = root.querySelector('#pg-form')!;
    this.startButton = root.querySelector('#pg-start')!;
    this.pauseButton = root.querySelector('#pg-pause')!;
    this.resetButton = root.querySelector('#pg-reset')!;
    this.status = root.querySelector('#pg-status')!;
    this.modelInfo = root.querySelector('#pg-model')!;
    const box = (name: string) => root.querySelector<HTMLElement>(`[data-chart="${name}"]`)!;
    this.lossChart = new LineChart(box('loss'), {
      title: 'Loss (cross-entropy)', xLabel: 'epoch', yLabel: 'loss', logY: true,
      series: [{ label: 'train', color: PALETTE[0] }, { label: 'validation', color: PALETTE[1] }],
    });
    this.accChart = new LineChart(box('accuracy'), {
      title: 'Accuracy (%)', xLabel: 'epoch', yLabel: '%',
      series: [{ label: 'train', color: PALETTE[0] }, { label: 'validation', color: PALETTE[1] }],
    });
    this.boundaryBox = box('boundary');
    this.boundary = new HeatmapChart(this.boundaryBox, { title: 'Decision boundary', xLabel: 'x₁', yLabel: 'x₂', width: 360, height: 360 });
    this.digitsBox = box('digits');
    this.weightBox = box('weights');
    this.actBox = box('activations');

    this.buildForm();
    this.form.addEventListener('submit', (e) => e.preventDefault());
    this.form.addEventListener('change', () => void this.settingsChanged());
    this.startButton.addEventListener('click', () => void this.start());
    this.pauseButton.addEventListener('click', () => this.pause());
    this.resetButton.addEventListener('click', () => void this.reset('Reset: press Start to train a fresh model.'));
    this.publish({ status: 'idle' });
  }

  /** Starts training (building the data and model first if needed), resumes after Pause, or continues after the last epoch. */
  async start(): Promise<void> {
    if (this.paused) {
      const p = this.paused;
      this.paused = null;
      p.resume();
      this.setButtons('training');
      this.publish({ status: 'training' });
      return;
    }
    if (this.running) return;
    this.running = this.train().finally(() => { this.running = null; });
    await this.running;
  }

  pause(): void {
    if (!this.running || this.paused) return;
    let resume = () => {};
    const promise = new Promise<void>((r) => (resume = r));
    this.paused = { promise, resume };
    this.setButtons('paused');
    this.status.textContent += ' — paused';
  }

  /** Stops training (if running) and frees the model and data; the next Start builds them anew. */
  async reset(message: string): Promise<void> {
    if (this.running) {
      this.resetRequested = true;
      this.paused?.resume();
      this.paused = null;
      await this.running.catch(() => {});
      this.resetRequested = false;
    }
    this.disposeSession();
    this.lossChart.update([[], [], []]);
    this.accChart.update([[], [], []]);
    this.status.textContent = message;
    this.setButtons('idle');
    this.publish({ status: 'idle', epoch: 0, step: 0, history: [], boundaryDraws: 0, histogramDraws: 0, error: undefined });
  }

  // -------------------------------------------------------------------------------------------

  private async train(): Promise<void> {
    this.setButtons('training');
    this.publish({ status: 'training', error: undefined });
    try {
      if (!this.session) {
        this.status.textContent = 'Preparing data and model…';
        this.session = await this.buildSession(this.settings);
        await this.refreshViews(true);
      }
      const s = this.session;
      const { settings } = s;
      const start = s.epochsDone;
      const batches = Math.ceil(s.data.train.size / settings.batchSize);
      const stepsBefore = s.steps;
      let last = performance.now();
      await wt.train.fit(s.model, { train: s.data.train, valid: s.data.valid }, {
        epochs: start + settings.epochs,
        initialEpoch: start,
        batchSize: settings.batchSize,
        optimizer: s.optimizer,
        regularizer: regularizer(settings),
        seed: settings.seed,
        callbacks: {
          onBatchEnd: async (batch, logs) => {
            s.steps = stepsBefore + logs.step; // fit counts the steps of each call from 1
            this.state.step = s.steps;
            if (this.paused) {
              // Parked here until Resume or Reset: no step runs meanwhile.
              this.publish({ status: 'paused' });
              await this.paused.promise;
            }
            if (this.resetRequested) throw new ResetSignal();
            const now = performance.now();
            if (now - last > 250) {
              last = now;
              const running = logs.trainLoss === undefined ? '' : `, running loss ${fmt(logs.trainLoss)}`;
              this.status.textContent = `epoch ${logs.epoch + 1}, batch ${batch + 1}/${batches}${running}`;
            }
          },
          onEpochEnd: async (epoch, logs) => {
            s.history.push(logs);
            s.epochsDone = epoch + 1;
            this.status.textContent = epochLine(logs);
            this.updateCurves();
            const now = performance.now();
            if (now - this.lastViews > 400 || epoch === start + settings.epochs - 1) await this.refreshViews();
            this.publish({ epoch: s.epochsDone, history: s.history.map(plainLogs) });
            if (this.resetRequested) throw new ResetSignal();
          },
        },
      });
      await this.refreshViews(true);
      this.status.textContent = `${epochLine(s.history.at(-1)!)} — done (Start continues for ${settings.epochs} more epochs)`;
      this.setButtons('done');
      this.publish({ status: 'done' });
    } catch (e) {
      if (e instanceof ResetSignal) return;
      const msg = e instanceof Error ? e.message : String(e);
      console.error(e);
      this.status.textContent = `Error: ${msg}`;
      this.setButtons('idle');
      this.publish({ status: 'error', error: msg });
      this.disposeSession();
    }
  }

  private async buildSession(settings: Settings): Promise<Session> {
    const data = await loadData(settings);
    let model: wt.nn.Sequential | null = null;
    try {
      const sizes = [data.inputs, ...Array.from({ length: settings.layers }, () => settings.width), data.classes];
      model = wt.nn.mlp({
        sizes, activation: settings.activation, init: settings.init, norm: settings.norm, dropout: settings.dropout, seed: settings.seed,
      });
      const optimizer = wt.train.makeOptimizer(optimizerSpec(settings, Math.ceil(data.train.size / settings.batchSize)), model.parameters());
      const session: Session = { settings: { ...settings }, data, model, optimizer, epochsDone: 0, steps: 0, history: [] };
      if (data.points) session.grid = makeGrid(data.points.extent, 60);
      const params = model.parameters().reduce((n, p) => n + p.size, 0);
      const backend = wt.backend();
      this.modelInfo.textContent = `mlp ${sizes.join('-')} ${settings.activation}` +
        `${settings.norm !== 'none' ? ` + ${settings.norm} norm` : ''}${settings.dropout > 0 ? ` + dropout ${settings.dropout}` : ''}` +
        ` · ${params.toLocaleString()} parameters · ${data.train.size} train / ${data.valid.size} validation examples on ${backend.name}`;
      this.setupHistograms(model);
      return session;
    } catch (e) {
      model?.dispose();
      data.dispose();
      throw e;
    }
  }

  private disposeSession(): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    s.optimizer.dispose();
    s.model.dispose();
    s.data.dispose();
    s.grid?.tensor.dispose();
  }

  private updateCurves(): void {
    const h = this.session?.history ?? [];
    const epochs = h.map((l) => l.epoch + 1);
    this.lossChart.update([epochs, h.map((l) => l.trainLoss), h.map((l) => l.validLoss ?? null)]);
    const pct = (v: number | undefined) => (v === undefined ? null : 100 * v);
    this.accChart.update([epochs, h.map((l) => pct(l.trainAccuracy)), h.map((l) => pct(l.validAccuracy))]);
  }

  /** The decision boundary (or MNIST predictions) and the histograms: each needs reads from the device. */
  private async refreshViews(force = false): Promise<void> {
    const s = this.session;
    if (!s) return;
    if (!force && performance.now() - this.lastViews < 400) return;
    const modes = s.model.modules().map((m) => m.training);
    s.model.eval();
    try {
      if (s.grid && s.data.points) {
        const grid = s.grid;
        const probs = wt.noGrad(() => wt.tidy(() => s.model.forward(grid.tensor).softmax(1)));
        const values = await probs.data();
        probs.dispose();
        this.boundary.update({ xs: grid.xs, ys: grid.ys, probs: { values, classes: s.data.classes }, points: s.data.points });
        this.state.boundaryDraws++;
      } else if (s.data.digits) {
        await this.drawDigits(s);
      }
      await this.drawHistograms(s);
      this.state.histogramDraws++;
    } finally {
      s.model.modules().forEach((m, i) => { m.training = modes[i]; });
      this.lastViews = performance.now();
    }
  }

  private setupHistograms(model: wt.nn.Sequential): void {
    const linears = model.modules().filter((m): m is wt.nn.Linear => m instanceof wt.nn.Linear);
    this.weightBox.innerHTML = '';
    this.actBox.innerHTML = '';
    this.weightHist = new HistogramChart(this.weightBox, {
      title: 'Weights per layer', xLabel: 'weight', series: linears.map((_, i) => `Linear ${i + 1}`),
    });
    const acts = hiddenActivations(model);
    this.actHist = acts.length === 0 ? null : new HistogramChart(this.actBox, {
      title: 'Activations per hidden layer (validation inputs)', xLabel: 'activation', series: acts.map((a) => a.label),
    });
    if (!this.actHist) this.actBox.innerHTML = '<p class="note">No hidden layer: no activations to show.</p>';
    this.actNote = document.createElement('p');
    this.actNote.className = 'note';
    this.actBox.append(this.actNote);
  }

  /** Weights of every Linear; outputs of every hidden activation on (up to 512) validation inputs. */
  private async drawHistograms(s: Session): Promise<void> {
    const linears = s.model.modules().filter((m): m is wt.nn.Linear => m instanceof wt.nn.Linear);
    const weights = await Promise.all(linears.map((l) => l.weight.data()));
    this.weightHist?.update(weights);
    if (!this.actHist) return;
    const n = Math.min(512, s.data.valid.size);
    const acts = hiddenActivations(s.model);
    // Run the layers one at a time (the public Sequential.at), keeping each activation's output.
    const outs = wt.noGrad(() => wt.tidy(() => {
      let h = s.data.valid.x.slice([0, 0], [n, s.data.inputs]);
      const kept: wt.Tensor[] = [];
      for (let i = 0; i < s.model.length; i++) {
        h = s.model.at(i).forward(h);
        if (acts.some((a) => a.index === i)) kept.push(wt.keep(h));
      }
      return kept;
    }));
    let values: Float32Array[];
    try {
      values = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    } finally {
      outs.forEach((t) => t.dispose());
    }
    if (s.settings.activation === 'relu') {
      // A ReLU's exact zeros (inactive units) would dwarf the rest: count them apart, plot the others.
      const zeros = values.map((v) => v.reduce((n, x) => n + (x === 0 ? 1 : 0), 0) / Math.max(1, v.length));
      this.actNote.textContent = `Exact zeros (inactive ReLUs), left out of the histogram: ${zeros.map((z, i) => `${acts[i].label} ${(100 * z).toFixed(0)}%`).join(', ')}`;
      values = values.map((v) => v.filter((x) => x !== 0));
    } else {
      this.actNote.textContent = '';
    }
    this.actHist.update(values);
  }

  private async drawDigits(s: Session): Promise<void> {
    const d = s.data.digits!;
    const n = d.labels.length;
    const x = wt.tensor(d.images, [n, s.data.inputs]);
    const pred = wt.noGrad(() => wt.tidy(() => s.model.forward(x).argmax(1)));
    const labels = await pred.data();
    x.dispose();
    pred.dispose();
    this.digitsBox.innerHTML = '<div class="u-title">Validation digits: prediction (red when wrong)</div>';
    const grid = document.createElement('div');
    grid.className = 'digit-grid';
    for (let i = 0; i < n; i++) {
      const cell = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.width = 28;
      canvas.height = 28;
      const ctx = canvas.getContext('2d')!;
      const img = ctx.createImageData(28, 28);
      for (let p = 0; p < 784; p++) {
        const v = 255 - Math.round(255 * d.images[i * 784 + p]);
        img.data.set([v, v, v, 255], p * 4);
      }
      ctx.putImageData(img, 0, 0);
      const caption = document.createElement('figcaption');
      caption.textContent = String(labels[i]);
      if (labels[i] !== d.labels[i]) caption.className = 'wrong';
      cell.append(canvas, caption);
      grid.append(cell);
    }
    this.digitsBox.append(grid);
  }

  // -------------------------------------------------------------------------------------------

  private buildForm(): void {
    this.form.innerHTML = GROUPS.map((g) => `<fieldset><legend>${g.title}</legend>${g.controls.map((c) => {
      const id = `pg-${c.key}`;
      const title = c.title ? ` title="${c.title}"` : '';
      const input = c.options
        ? `<select id="${id}" name="${c.key}">${c.options.map((o) => `<option value="${o}">${o}</option>`).join('')}</select>`
        : `<input id="${id}" name="${c.key}" type="number"${c.min !== undefined ? ` min="${c.min}"` : ''}${c.max !== undefined ? ` max="${c.max}"` : ''} step="${c.step ?? 'any'}">`;
      return `<label class="field" data-key="${c.key}"${title}><span id="${id}-label">${c.label}</span>${input}</label>`;
    }).join('')}</fieldset>`).join('');
    for (const [k, v] of Object.entries(this.settings)) {
      const el = this.form.elements.namedItem(k) as HTMLInputElement | HTMLSelectElement | null;
      if (el) el.value = String(v);
    }
    this.updateVisibility();
  }

  private readForm(): Settings {
    const s = { ...this.settings } as Record<string, unknown>;
    for (const g of GROUPS) {
      for (const c of g.controls) {
        const el = this.form.elements.namedItem(c.key) as HTMLInputElement | HTMLSelectElement;
        if (c.options) s[c.key] = el.value;
        else if (el.value !== '' && Number.isFinite(Number(el.value))) s[c.key] = Number(el.value);
      }
    }
    return s as unknown as Settings;
  }

  private updateVisibility(): void {
    for (const g of GROUPS) {
      for (const c of g.controls) {
        const label = this.form.querySelector<HTMLElement>(`[data-key="${c.key}"]`)!;
        label.hidden = c.when ? !c.when(this.settings) : false;
      }
    }
    const param = SCHEDULE_PARAM[this.settings.schedule];
    if (param) this.form.querySelector('#pg-decay-label')!.textContent = param;
    const mnist = this.settings.dataset === 'mnist';
    this.boundaryBox.hidden = mnist;
    this.digitsBox.hidden = !mnist;
  }

  private async settingsChanged(): Promise<void> {
    const before = this.settings;
    this.settings = this.readForm();
    // A schedule change suggests its usual parameter.
    if (before.schedule !== this.settings.schedule) {
      const typical: Partial<Record<Settings['schedule'], number>> = { inverse: 0.01, power: 0.75, step: 200, exponential: 0.999, warmup: 50 };
      const v = typical[this.settings.schedule];
      if (v !== undefined) {
        this.settings.decay = v;
        (this.form.elements.namedItem('decay') as HTMLInputElement).value = String(v);
      }
    }
    this.updateVisibility();
    this.publish({ settings: { ...this.settings } });
    if (this.session || this.running) await this.reset('Settings changed: press Start to train with them.');
  }

  private setButtons(mode: 'idle' | 'training' | 'paused' | 'done'): void {
    this.startButton.textContent = mode === 'paused' ? 'Resume' : mode === 'done' ? 'Continue' : 'Start';
    this.startButton.disabled = mode === 'training';
    this.pauseButton.disabled = mode !== 'training';
  }

  private publish(patch: Partial<PlaygroundState>): void {
    Object.assign(this.state, patch, { liveTensors: wt.memory().numTensors });
  }
}

// ---------------------------------------------------------------------------------------------

function optimizerSpec(s: Settings, batchesPerEpoch: number): wt.train.OptimizerSpec {
  const spec: wt.train.OptimizerSpec = { name: s.optimizer, lr: schedule(s, batchesPerEpoch) };
  if (s.weightDecay > 0) spec.weightDecay = s.weightDecay;
  if (['sgd', 'momentum', 'nesterov', 'rmsprop'].includes(s.optimizer)) {
    // Nesterov needs a momentum; plain SGD takes the field as it is.
    spec.momentum = s.optimizer === 'nesterov' ? Math.max(s.momentum, 1e-3) : s.momentum;
  }
  return spec;
}

/** The learning rate of update t (t = 1, 2, ...) from wt.optim.schedule. */
function schedule(s: Settings, batchesPerEpoch: number): wt.optim.LearningRate {
  const sc = wt.optim.schedule;
  const total = Math.max(1, s.epochs * batchesPerEpoch);
  switch (s.schedule) {
    case 'constant': return s.lr;
    case 'inverse': return sc.inverseDecay(s.lr, s.decay);
    case 'power': return sc.powerDecay(s.lr, s.decay);
    case 'step': return sc.step(s.lr, Math.max(1, Math.round(s.decay)), 0.5);
    case 'exponential': return sc.exponential(s.lr, s.decay);
    case 'cosine': return sc.cosine(s.lr, total);
    case 'warmup': {
      const n = Math.max(0, Math.round(s.decay));
      return sc.warmup(n, sc.cosine(s.lr, Math.max(1, total - n)));
    }
  }
}

function regularizer(s: Settings): ((m: Module) => wt.Tensor) | undefined {
  if (!(s.l1 > 0) && !(s.l2 > 0)) return undefined;
  const F = wt.nn.functional;
  return (m) => {
    if (s.l1 > 0 && s.l2 > 0) return F.l1Penalty(m, s.l1).add(F.l2Penalty(m, s.l2));
    return s.l1 > 0 ? F.l1Penalty(m, s.l1) : F.l2Penalty(m, s.l2);
  };
}

/** Indices (in the Sequential) of the activation modules of the hidden layers. */
function hiddenActivations(model: wt.nn.Sequential): { index: number; label: string }[] {
  const out: { index: number; label: string }[] = [];
  const kinds = [wt.nn.ReLU, wt.nn.Tanh, wt.nn.Sigmoid, wt.nn.LeakyReLU, wt.nn.GELU];
  for (let i = 0; i < model.length; i++) {
    if (kinds.some((k) => model.at(i) instanceof k)) out.push({ index: i, label: `hidden ${out.length + 1}` });
  }
  return out;
}

/** A G × G grid of points over the extent, as one [G², 2] tensor (row-major: y outer, x inner). */
function makeGrid(extent: { x: [number, number]; y: [number, number] }, g: number): { tensor: wt.Tensor; xs: number[]; ys: number[] } {
  const axis = ([lo, hi]: [number, number]) => Array.from({ length: g }, (_, i) => lo + ((i + 0.5) * (hi - lo)) / g);
  const xs = axis(extent.x);
  const ys = axis(extent.y);
  const flat = new Float32Array(g * g * 2);
  for (let r = 0; r < g; r++) for (let c = 0; c < g; c++) { flat[2 * (r * g + c)] = xs[c]; flat[2 * (r * g + c) + 1] = ys[r]; }
  return { tensor: wt.keep(wt.tensor(flat, [g * g, 2])), xs, ys };
}

function epochLine(l: wt.train.EpochLogs): string {
  const pct = (v?: number) => (v === undefined ? '–' : `${(100 * v).toFixed(1)}%`);
  return `epoch ${l.epoch + 1}: train loss ${fmt(l.trainLoss)} acc ${pct(l.trainAccuracy)} · ` +
    `validation loss ${l.validLoss === undefined ? '–' : fmt(l.validLoss)} acc ${pct(l.validAccuracy)} · lr ${fmt(l.lr)}`;
}

function plainLogs(l: wt.train.EpochLogs) {
  return { epoch: l.epoch, trainLoss: l.trainLoss, validLoss: l.validLoss, trainAccuracy: l.trainAccuracy, validAccuracy: l.validAccuracy, lr: l.lr };
}
