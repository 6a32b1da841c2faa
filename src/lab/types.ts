/**
 * The data wt.lab experiments return and the demo page draws: plain numbers and strings only (no
 * tensors), so a result can be rendered, serialized or compared without touching a device.
 * The shapes are the shared contract with the demo page (see the lab-api contract).
 */
import type { BackendName } from '../backend/backend';

/** Every experiment of the registry, by id (the demo iterates over these). */
export type ExperimentId = 'tanhSurface' | 'initialization' | 'activations' | 'optimizerRace' | 'lrDecay' |
  'normalization' | 'sharpness' | 'interpolation' | 'swa' | 'mixup' | 'earlyStopping' |
  // issue 9, part 2 (over-parametrization and sparsity)
  'lotteryTicket' | 'adversarial' | 'memorization' | 'doubleDescent' |
  'biasVariance' | 'minimaSpread' | 'deconstructingTickets';

/** The value of one setting: the demo renders a form field from the default's type. */
export type OptionValue = number | string | boolean;

/** What every run accepts besides its own settings. */
export interface RunOptions {
  /** Called with the fraction done (0..1) and a short note of the current phase. */
  onProgress?: (fraction: number, message?: string) => void;
  /** Aborting it makes run() throw an AbortError (a WebtrainError) at the next step, with every tensor freed. */
  signal?: AbortSignal;
  /** Backend of the run's tensors (default: the one wt.init chose). */
  backend?: BackendName;
}

/** One lab experiment: a slide of the course, as a runnable, configurable computation. */
export interface Experiment<O = Record<string, OptionValue>, R extends RunOptions = RunOptions> {
  id: ExperimentId;
  title: string;
  /** One paragraph: what the slide shows and what to look for. */
  description: string;
  /** Small settings that run in seconds on WebGPU in a browser (plain numbers, strings, booleans). */
  defaults: O;
  /** Runs with the defaults overridden by `opts`; an unknown or mistyped setting is an error. */
  run(opts?: Partial<O> & R): Promise<LabResult>;
}

/** What a run returns. */
export interface LabResult {
  id: ExperimentId;
  title: string;
  /** Line charts. */
  plots: LabPlot[];
  /** Surfaces and decision maps. */
  heatmaps?: LabHeatmap[];
  table?: { columns: string[]; rows: (string | number)[][] };
  /** Headline numbers, e.g. 'top eigenvalue SGD small batch'. */
  summary: Record<string, number | string>;
}

/** A line chart: series share the axes; markers point at single positions (e.g. the early-stopping point). */
export interface LabPlot {
  title: string;
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  series: { label: string; x: number[]; y: number[] }[];
  markers?: { label: string; x: number; y: number }[];
}

/** A scalar field on a grid: `values` row-major, ys.length rows × xs.length columns, with optional paths drawn over it. */
export interface LabHeatmap {
  title: string;
  xLabel: string;
  yLabel: string;
  xs: number[];
  ys: number[];
  values: number[];
  logScale?: boolean;
  paths?: { label: string; points: [number, number][] }[];
}
