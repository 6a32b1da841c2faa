/**
 * What the experiments share: the registry entry builder (options merged over the defaults and
 * checked, a context that owns everything the run creates and frees it at the end, also on abort),
 * training through wt.train.fit with progress and abort, the 2-D data sets, and small result
 * helpers. Experiments are plain async functions over this context.
 */
import type { BackendName } from '../../backend/backend';
import { WebtrainError } from '../../errors';
import { getBackend, tidy } from '../../runtime';
import { noGrad } from '../../session';
import { tensor } from '../../create';
import type { Tensor } from '../../tensor';
import type { Module } from '../../nn/module';
import { crossEntropy } from '../../nn/functional';
import type { Dataset } from '../../data/dataset';
import { circles, moons, spirals, xor } from '../../data/synthetic';
import { evaluate, fit, type Callbacks, type DatasetLike, type FitOptions, type History } from '../../train/fit';
import { linspace, Progress } from '../progress';
import type { Experiment, ExperimentId, LabHeatmap, LabResult, OptionValue, RunOptions } from '../types';

/** Something a run creates and must free: a tensor, module, data set or optimizer. */
export interface Disposable {
  dispose(): void;
}

/** What an experiment's body gets: where to put tensors, how to report, and ownership of what it creates. */
export interface Context {
  backend: BackendName;
  progress: Progress;
  /** Registers `x` to be disposed when the run ends (in reverse order of registration); returns it. */
  own<T extends Disposable>(x: T): T;
}

/** The parts of a LabResult an experiment's body fills in (id and title come from its entry). */
export type LabBody = Omit<LabResult, 'id' | 'title'>;

/** An experiment's definition: its entry's fields and a body over resolved options and a context. */
export interface ExperimentSpec<O extends Record<string, OptionValue>> {
  id: ExperimentId;
  title: string;
  description: string;
  defaults: O;
  /** Extra checks of the resolved options (ranges); throw a WebtrainError naming the option. */
  check?: (o: O) => void;
  body: (o: O, ctx: Context) => Promise<LabBody>;
}

/**
 * A registry entry: run() merges the given settings over the defaults (an unknown name or a value of
 * another type than the default's is an error), runs the body with a context on the chosen backend,
 * and frees everything the body gave the context to own, whatever happens.
 */
export function defineExperiment<O extends Record<string, OptionValue>>(spec: ExperimentSpec<O>): Experiment<O> {
  const { id, title, description, defaults } = spec;
  return {
    id,
    title,
    description,
    defaults: Object.freeze({ ...defaults }) as O,
    async run(opts: Partial<O> & RunOptions = {}): Promise<LabResult> {
      const { onProgress, signal, backend, ...given } = opts;
      const o = resolveOptions(id, defaults, given);
      spec.check?.(o);
      const owned: Disposable[] = [];
      const ctx: Context = {
        backend: backend ?? getBackend().name,
        progress: Progress.start(`lab.${id}`, { onProgress, signal }),
        own: (x) => { owned.push(x); return x; },
      };
      ctx.progress.check();
      try {
        const body = await spec.body(o, ctx);
        onProgress?.(1, 'done');
        return { id, title, ...body };
      } finally {
        for (const x of owned.reverse()) x.dispose();
      }
    },
  };
}

function resolveOptions<O extends Record<string, OptionValue>>(id: string, defaults: O, given: Record<string, unknown>): O {
  const out: Record<string, OptionValue> = { ...defaults };
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!(k in defaults)) {
      throw new WebtrainError(`lab.${id}: unknown setting '${k}' (settings: ${Object.keys(defaults).join(', ')}; and onProgress, signal, backend)`);
    }
    if (typeof v !== typeof defaults[k]) {
      throw new WebtrainError(`lab.${id}: setting '${k}' must be a ${typeof defaults[k]} like its default ${JSON.stringify(defaults[k])}, got ${JSON.stringify(v)}`);
    }
    if (typeof v === 'number' && !Number.isFinite(v)) throw new WebtrainError(`lab.${id}: setting '${k}' must be a finite number, got ${v}`);
    out[k] = v as OptionValue;
  }
  return out as O;
}

/** Throws unless `o[k]` is an integer >= min (for counts: epochs, widths, grid sizes). */
export function checkInt(id: string, o: Record<string, OptionValue>, keys: string[], min = 1): void {
  for (const k of keys) {
    const v = o[k];
    if (!Number.isInteger(v) || (v as number) < min) throw new WebtrainError(`lab.${id}: setting '${k}' must be an integer >= ${min}, got ${v}`);
  }
}

/** Throws unless `o[k]` is one of `allowed`. */
export function checkChoice(id: string, o: Record<string, OptionValue>, key: string, allowed: readonly string[]): void {
  if (!allowed.includes(o[key] as string)) {
    throw new WebtrainError(`lab.${id}: setting '${key}' must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(o[key])}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Data

/** The 2-D two-class sets of wt.data an experiment can use. */
export const DATASETS = ['spirals', 'moons', 'circles', 'xor'] as const;
/** The name of one of DATASETS. */
export type DatasetName = (typeof DATASETS)[number];

/**
 * A training set and an independent test set (another seeded draw of the same distribution) of a
 * 2-D two-class problem, owned by the context. `n` and `nTest` are examples per class.
 */
export function twoClassData(ctx: Context, name: string, o: { n: number; nTest: number; noise: number; seed: number }): { train: Dataset; test: Dataset } {
  return { train: twoClassSet(ctx, name, o.n, o.noise, o.seed), test: twoClassSet(ctx, name, o.nTest, o.noise, o.seed + 7919) };
}

/** One seeded draw of `n` examples per class of the named 2-D set, owned by the context. */
export function twoClassSet(ctx: Context, name: string, n: number, noise: number, seed: number): Dataset {
  const make = { spirals, moons, circles, xor }[name as DatasetName];
  if (!make) throw new WebtrainError(`lab: unknown data set '${name}' (expected ${DATASETS.join(', ')})`);
  return ctx.own(make({ n, noise, seed, backend: ctx.backend }));
}

// ---------------------------------------------------------------------------------------------
// Training

/** fit's options, less what train() sets itself. */
export type TrainOptions = Omit<FitOptions, 'yieldEveryMs'> & { label?: string };

/**
 * wt.train.fit with the run's progress (one report per epoch, over `progress`'s range) and abort:
 * an abort stops training cleanly at the end of the epoch (fit frees its own tensors), then throws.
 */
export async function train(progress: Progress, model: Module, data: DatasetLike | { train: DatasetLike; valid?: DatasetLike },
  opts: TrainOptions): Promise<History> {
  const { label, callbacks = {}, ...fitOpts } = opts;
  let aborted: unknown = null;
  const cb: Callbacks = {
    ...callbacks,
    onEpochEnd: async (epoch, logs) => {
      const own = await callbacks.onEpochEnd?.(epoch, logs);
      try {
        await progress.report((epoch + 1) / fitOpts.epochs, label ? `${label}: epoch ${epoch + 1} of ${fitOpts.epochs}` : undefined);
      } catch (e) {
        aborted = e;
        return false;
      }
      return own;
    },
  };
  progress.check();
  const history = await fit(model, data, { ...fitOpts, callbacks: cb, metrics: fitOpts.metrics ?? ['loss', 'accuracy'] });
  if (aborted) throw aborted;
  return history;
}

/** Loss and accuracy of the model on a data set (eval mode). */
export async function score(model: Module, ds: DatasetLike): Promise<{ loss: number; accuracy: number }> {
  const e = await evaluate(model, ds, { batchSize: Math.max(ds.size, 1) });
  return { loss: e.loss, accuracy: e.accuracy ?? NaN };
}

/** The mean cross-entropy of the model over the whole data set, as a closure for the surface tools (the model should be in eval mode). */
export function datasetLoss(model: Module, ds: Dataset): () => Tensor {
  return () => crossEntropy(model.forward(ds.x), ds.y);
}

/** A column of an epoch history as a series over epochs 1..E. */
export function epochSeries(label: string, h: History, key: 'trainLoss' | 'validLoss' | 'trainAccuracy' | 'validAccuracy'): { label: string; x: number[]; y: number[] } {
  return { label, x: h.epochs.map((e) => e.epoch + 1), y: h.epochs.map((e) => e[key] ?? NaN) };
}

/**
 * The model's probability of class 1 on a steps × steps grid over [-range, range]² (plus `center`),
 * row-major by y: a decision map. One forward pass and one read back.
 */
export async function decisionMap(model: Module, ctx: Context, o: { range: number; steps: number; center?: [number, number]; title: string }): Promise<LabHeatmap> {
  const [cx, cy] = o.center ?? [0, 0];
  const xs = linspace(cx - o.range, cx + o.range, o.steps);
  const ys = linspace(cy - o.range, cy + o.range, o.steps);
  const grid = new Float32Array(xs.length * ys.length * 2);
  ys.forEach((y, j) => xs.forEach((x, i) => { grid[2 * (j * xs.length + i)] = x; grid[2 * (j * xs.length + i) + 1] = y; }));
  const wasTraining = model.training;
  model.eval();
  const p = noGrad(() => tidy(() => model.forward(tensor(grid, [xs.length * ys.length, 2], { backend: ctx.backend })).softmax(1).slice([0, 1], [-1, 1])));
  model.train(wasTraining);
  try {
    return { title: o.title, xLabel: 'x₁', yLabel: 'x₂', xs, ys, values: Array.from(await p.data()) };
  } finally {
    p.dispose();
  }
}

/** A 31-bit seed derived from a base seed and a tag, so the parts of a run draw independent streams. */
export function subSeed(seed: number, tag: number): number {
  let h = Math.imul((seed >>> 0) ^ 0x27d4eb2f, 0x9e3779b1) ^ Math.imul(tag + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35);
  return (h ^ (h >>> 13)) >>> 1;
}

/** The last element of a list (NaN for an empty one). */
export function last(xs: number[]): number {
  return xs.length ? xs[xs.length - 1] : NaN;
}

/** Rounds for display in tables and summaries (4 significant digits), leaving the raw series untouched. */
export function round(v: number, digits = 4): number {
  return Number.isFinite(v) ? Number(v.toPrecision(digits)) : v;
}
