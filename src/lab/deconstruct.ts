/**
 * deconstructTickets: the mask criteria of Zhou, Lan, Liu, Yosinski, "Deconstructing Lottery
 * Tickets: Zeros, Signs, and the Supermask" (NeurIPS 2019), one-shot: train the dense network from
 * θ0 once; then for every criterion (which weights to keep, scored from their initial and final
 * values: large_final, small_final, large_init, magnitude_increase, random, ...) and every sparsity,
 * prune that fraction of every weight matrix (the lowest scores; biases are never pruned), rewind the
 * survivors to θ0 and retrain with the mask held fixed. Each run also reports the accuracy of the
 * masked θ0 before any retraining: Zhou et al.'s observation that some masks alone already do better
 * than chance.
 */
import { WebtrainError } from '../errors';
import type { Module } from '../nn/module';
import { Rng } from '../data/rng';
import type { DatasetLike } from '../train/fit';
import { makeOptimizer, type OptimizerSpec } from '../train/optimizers';
import { copyValues, disposeAll, writeValues } from './params';
import { Progress, type ProgressOptions } from './progress';
import { score, train } from './experiments/common';
import { criterionScores, MASK_CRITERIA, MaskedModel, maskedOptimizer, pruneLowest, type MaskCriterion } from './prune';

/** The criteria of Zhou et al.'s figure 2 the experiment compares by default. */
export const ZHOU_CRITERIA: readonly MaskCriterion[] = ['large_final', 'small_final', 'large_init', 'magnitude_increase', 'random'];

/** Options of deconstructTickets. */
export interface DeconstructOptions extends ProgressOptions {
  /** The network; its weights when called are θ0. At the end it holds the last run's retrained weights. */
  model: Module;
  data: { train: DatasetLike; test: DatasetLike };
  /** Fractions of every weight matrix pruned, each in [0, 1]. */
  sparsities: number[];
  /** Default ZHOU_CRITERIA. */
  criteria?: readonly MaskCriterion[];
  epochs: number;
  batchSize: number;
  /** Optimizer of every run (a fresh one each time; default Adam, lr 1e-3). */
  optimizer?: OptimizerSpec;
  /** Seed of the batch order (the same in every run) and of the random criterion. */
  seed?: number;
}

/** One retrained sub-network. */
export interface DeconstructRun {
  criterion: MaskCriterion;
  sparsity: number;
  /** Weights kept per weight matrix, and their sizes. */
  kept: number[];
  sizes: number[];
  /** Fraction of all masked weights kept. */
  remaining: number;
  /** Test accuracy of θ0 ⊙ mask, before retraining. */
  maskedInitAccuracy: number;
  testAccuracy: number;
  testLoss: number;
  trainLoss: number;
  /** The masks, one per weight matrix (host copies). */
  masks: Float32Array[];
}

export interface DeconstructResult {
  dense: { testAccuracy: number; testLoss: number; trainLoss: number; initAccuracy: number };
  runs: DeconstructRun[];
  /** Keys of the masked weights, their values at θ0 and after dense training (what the criteria scored). */
  keys: string[];
  init: Float32Array[];
  final: Float32Array[];
}

/** One-shot pruning by each criterion at each sparsity, rewound to θ0 and retrained; see the file comment. */
export async function deconstructTickets(opts: DeconstructOptions): Promise<DeconstructResult> {
  const { model, data, sparsities, criteria = ZHOU_CRITERIA, epochs, batchSize, optimizer = { name: 'adam', lr: 1e-3 }, seed = 0 } = opts;
  const where = 'lab.deconstructTickets';
  if (!Array.isArray(sparsities) || sparsities.length === 0 || !sparsities.every((s) => s >= 0 && s <= 1)) throw new WebtrainError(`${where}: sparsities must be fractions in [0, 1], got [${sparsities}]`);
  if (!Array.isArray(criteria) || criteria.length === 0) throw new WebtrainError(`${where}: criteria must be a non-empty list of ${MASK_CRITERIA.join(', ')}`);
  for (const c of criteria) if (!MASK_CRITERIA.includes(c)) throw new WebtrainError(`${where}: unknown criterion '${c}' (expected ${MASK_CRITERIA.join(', ')})`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new WebtrainError(`${where}: epochs must be an integer >= 1, got ${epochs}`);
  if (!data?.train || !data?.test) throw new WebtrainError(`${where}: data must be {train, test}`);

  const progress = Progress.start(where, opts);
  const params = model.parameters();
  const masked = new MaskedModel(model);
  const entries = masked.entries();
  const theta0 = copyValues(params);
  try {
    const init = await host(entries.map(([, p]) => p));
    const totalRuns = 1 + criteria.length * sparsities.length;
    let runIndex = 0;
    const runOnce = async (label: string) => {
      const o = maskedOptimizer(makeOptimizer(optimizer, params), masked);
      try {
        masked.apply();
        const h = await train(progress.part(runIndex++, totalRuns), masked, data.train, { epochs, batchSize, optimizer: o, seed, readsPerEpoch: 1, label });
        const test = await score(masked, data.test);
        return { testAccuracy: test.accuracy, testLoss: test.loss, trainLoss: h.epochs[h.epochs.length - 1].trainLoss };
      } finally {
        o.dispose();
      }
    };
    const initAccuracy = (await score(masked, data.test)).accuracy;
    const dense = { ...(await runOnce('dense network')), initAccuracy };
    const final = await host(entries.map(([, p]) => p));
    const rng = new Rng(seed, 0xdec0);
    const runs: DeconstructRun[] = [];
    for (const criterion of criteria) {
      for (const sparsity of sparsities) {
        const masks = entries.map((_, i) => pruneLowest(criterionScores(criterion, init[i], final[i], rng), new Float32Array(init[i].length).fill(1), sparsity));
        writeValues(params, theta0);
        masked.setMasks(new Map(entries.map(([k], i) => [k, masks[i]])));
        const maskedInitAccuracy = (await score(masked, data.test)).accuracy;
        const r = await runOnce(`${criterion}, ${round3(100 * (1 - sparsity))}% kept`);
        const kept = masks.map(count);
        const sizes = masks.map((m) => m.length);
        runs.push({
          criterion, sparsity, kept, sizes, remaining: kept.reduce((a, b) => a + b, 0) / sizes.reduce((a, b) => a + b, 0),
          maskedInitAccuracy, ...r, masks,
        });
      }
    }
    return { dense, runs, keys: entries.map(([k]) => k), init, final };
  } finally {
    disposeAll(theta0);
    masked.dispose();
  }
}

async function host(ts: { data(): Promise<ArrayLike<number>> }[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
}

function count(m: Float32Array): number {
  let c = 0;
  for (const v of m) c += v;
  return c;
}

function round3(v: number): number {
  return Number(v.toPrecision(3));
}
