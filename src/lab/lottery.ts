/**
 * lotteryTicket: iterative magnitude pruning (Frankle & Carbin, "The Lottery Ticket Hypothesis:
 * Finding Sparse, Trainable Neural Networks", ICLR 2019, algorithm 1 with late resetting from
 * Frankle, Dziugaite, Roy, Carbin, "Stabilizing the Lottery Ticket Hypothesis", 2019):
 *   1. train the dense network from θ0 (recording θj, the weights after j steps, for late rewinding);
 *   2. prune p% of the remaining weights of every layer, those of smallest final magnitude (or by
 *      another criterion of Zhou et al.); biases are never pruned;
 *   3. reset the survivors to θ0 (or θj) and train again with the mask; repeat from 2.
 * At every sparsity two controls train with the same budget: the same mask over a random
 * re-initialization (each layer's θ0 values shuffled: the same distribution, fresh positions) and a
 * random mask with the same number of weights per layer over the rewound weights. Masks stay on
 * the device (maskedOptimizer); weights come to the host once per round, to choose the next mask.
 */
import { WebtrainError } from '../errors';
import { tensor } from '../create';
import { noGrad } from '../session';
import { tidy } from '../runtime';
import type { Tensor } from '../tensor';
import type { Module } from '../nn/module';
import { Rng } from '../data/rng';
import type { DatasetLike, History } from '../train/fit';
import { makeOptimizer, type OptimizerSpec } from '../train/optimizers';
import { copyValues, disposeAll, writeValues } from './params';
import { Progress, type ProgressOptions } from './progress';
import { train } from './experiments/common';
import {
  criterionScores, MASK_CRITERIA, MaskedModel, maskedOptimizer, pruneLowest, randomMask, shuffled, type MaskCriterion,
} from './prune';

/** Options of lotteryTicket. */
export interface LotteryTicketOptions extends ProgressOptions {
  /** The network; its weights when called are θ0. At the end it holds the last round's trained ticket. */
  model: Module;
  /** Training data, and the held-out data every epoch is evaluated on (test accuracy, early-stop epoch). */
  data: { train: DatasetLike; test: DatasetLike };
  /** Pruning rounds after the dense run (round 0 is the dense network). */
  rounds: number;
  /** Fraction of each layer's remaining weights pruned per round, in [0, 1) (0.2: 20%). */
  prunePerRound: number;
  /** Reset survivors to θ0 ('init', default) or to θj, the dense run's weights after j optimizer steps. */
  rewind?: 'init' | { step: number };
  /** Epochs of every training run. */
  epochs: number;
  batchSize: number;
  /** Optimizer of every run (a fresh one each time; default Adam, lr 1e-3). */
  optimizer?: OptimizerSpec;
  /** The last weight (the output layer) is pruned at this multiple of prunePerRound (default 0.5, as Frankle & Carbin). */
  outputRate?: number;
  /** Which weights survive (default 'large_final': magnitude pruning). */
  criterion?: MaskCriterion;
  /** Train the controls at every pruned round (default both true). */
  controls?: { reinit?: boolean; randomMask?: boolean };
  /** Seed of the batch order (the same in every run, so runs differ only by mask and weights) and of the controls. Default 0. */
  seed?: number;
}

/** One training run of a (masked) network. */
export interface TicketRun {
  /** Test accuracy after the last epoch. */
  testAccuracy: number;
  testLoss: number;
  trainLoss: number;
  /** The epoch (1-based) with the lowest test loss: Frankle & Carbin's early-stopping iteration, their measure of training speed. */
  bestEpoch: number;
  /** Test accuracy at that epoch. */
  bestTestAccuracy: number;
  /** Per epoch (1-based): training loss, test loss and test accuracy. */
  curve: { epoch: number[]; trainLoss: number[]; testLoss: number[]; testAccuracy: number[] };
}

/** One sparsity level. */
export interface TicketRound {
  round: number;
  /** Fraction of the prunable weights kept (1 for the dense round). */
  remaining: number;
  /** The winning-ticket candidate: the mask over the rewound weights. */
  ticket: TicketRun;
  /** The same mask over a random re-initialization (absent in round 0 or when turned off). */
  reinit?: TicketRun;
  /** A random mask with as many weights per layer, over the rewound weights (absent in round 0 or when turned off). */
  randomMask?: TicketRun;
}

export interface LotteryTicketResult {
  rounds: TicketRound[];
  /**
   * Mean |θ_T − θ0| over the dense run (round 0) of the weights in the final ticket and of the
   * weights pruned from it (Frankle & Carbin, fig. 12: ticket weights move farther).
   */
  movement: { ticket: number; rest: number };
  /** The last round's masks over the model (the caller disposes it; it does not own the model). */
  masked: MaskedModel;
}

/** Iterative magnitude pruning with rewinding and controls; see the file comment. */
export async function lotteryTicket(opts: LotteryTicketOptions): Promise<LotteryTicketResult> {
  const {
    model, data, rounds, prunePerRound, rewind = 'init', epochs, batchSize, optimizer = { name: 'adam', lr: 1e-3 },
    criterion = 'large_final', controls = {}, seed = 0, outputRate = 0.5,
  } = opts;
  const where = 'lab.lotteryTicket';
  if (!Number.isInteger(rounds) || rounds < 0) throw new WebtrainError(`${where}: rounds must be an integer >= 0, got ${rounds}`);
  if (!(prunePerRound >= 0 && prunePerRound < 1)) throw new WebtrainError(`${where}: prunePerRound must be in [0, 1), got ${prunePerRound}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new WebtrainError(`${where}: epochs must be an integer >= 1, got ${epochs}`);
  if (!(outputRate >= 0)) throw new WebtrainError(`${where}: outputRate must be >= 0, got ${outputRate}`);
  if (!MASK_CRITERIA.includes(criterion)) throw new WebtrainError(`${where}: unknown criterion '${criterion}' (expected ${MASK_CRITERIA.join(', ')})`);
  const rewindStep = rewind === 'init' ? 0 : rewind.step;
  if (!Number.isInteger(rewindStep) || rewindStep < 0) throw new WebtrainError(`${where}: rewind.step must be an integer >= 0, got ${rewindStep}`);
  if (!data?.train || !data?.test) throw new WebtrainError(`${where}: data must be {train, test}`);
  const doReinit = controls.reinit ?? true;
  const doRandom = controls.randomMask ?? true;

  const progress = Progress.start(where, opts);
  const params = model.parameters();
  const masked = new MaskedModel(model);
  const entries = masked.entries();
  const owned: Tensor[][] = [];
  try {
    const theta0 = copyValues(params);
    owned.push(theta0);
    const init = await hostValues(entries.map(([, p]) => p));
    let rewindTo: Tensor[] | null = rewindStep === 0 ? theta0 : null;
    const runsPerRound = 1 + (doReinit ? 1 : 0) + (doRandom ? 1 : 0);
    const totalRuns = 1 + rounds * runsPerRound;
    let runIndex = 0;
    const runOnce = async (label: string, onStep?: (step: number) => void): Promise<TicketRun> => {
      const o = maskedOptimizer(makeOptimizer(optimizer, params), masked);
      try {
        masked.apply();
        const h = await train(progress.part(runIndex++, totalRuns), masked, { train: data.train, valid: data.test }, {
          epochs, batchSize, optimizer: o, seed, readsPerEpoch: 1, label,
          callbacks: onStep ? { onBatchEnd: (_b, logs) => onStep(logs.step) } : undefined,
        });
        return ticketRun(h);
      } finally {
        o.dispose();
      }
    };

    // Round 0: the dense network, recording θj for late rewinding.
    const dense = await runOnce('dense network', rewindStep > 0 ? (step) => {
      if (step === rewindStep) { rewindTo = copyValues(params); owned.push(rewindTo); }
    } : undefined);
    if (!rewindTo) throw new WebtrainError(`${where}: rewind.step ${rewindStep} is beyond the dense run's ${Math.ceil(data.train.size / batchSize) * epochs} steps`);
    const denseFinal = await hostValues(entries.map(([, p]) => p));
    const result: TicketRound[] = [{ round: 0, remaining: 1, ticket: dense }];
    const rng = new Rng(seed, 0x7157);
    let final = denseFinal;
    let masks: Float32Array[] = entries.map(([, p]) => new Float32Array(p.size).fill(1));
    for (let r = 1; r <= rounds; r++) {
      masks = masks.map((m, i) => pruneLowest(criterionScores(criterion, init[i], final[i], rng), m,
        i === masks.length - 1 && masks.length > 1 ? Math.min(prunePerRound * outputRate, 1) : prunePerRound));
      const remaining = fraction(masks);
      const round: TicketRound = { round: r, remaining, ticket: undefined as unknown as TicketRun };
      if (doReinit) {
        writeReinit(params, theta0, entries, init, rng);
        masked.setMasks(maskMap(entries, masks));
        round.reinit = await runOnce(`round ${r}: random re-initialization`);
      }
      if (doRandom) {
        writeValues(params, rewindTo);
        masked.setMasks(maskMap(entries, masks.map((m) => randomMask(m.length, count(m), rng))));
        round.randomMask = await runOnce(`round ${r}: random mask`);
      }
      writeValues(params, rewindTo);
      masked.setMasks(maskMap(entries, masks));
      round.ticket = await runOnce(`round ${r}: ticket (${(100 * remaining).toPrecision(3)}% of weights)`);
      final = await hostValues(entries.map(([, p]) => p));
      result.push(round);
    }
    // Movement over the dense run, inside and outside the final ticket.
    let [inSum, inN, outSum, outN] = [0, 0, 0, 0];
    masks.forEach((m, i) => m.forEach((keepIt, k) => {
      const d = Math.abs(denseFinal[i][k] - init[i][k]);
      if (keepIt) { inSum += d; inN++; } else { outSum += d; outN++; }
    }));
    return { rounds: result, movement: { ticket: inN ? inSum / inN : NaN, rest: outN ? outSum / outN : NaN }, masked };
  } catch (e) {
    masked.dispose();
    throw e;
  } finally {
    for (const ts of owned) disposeAll(ts);
  }
}

/** The history as a TicketRun (test = the validation columns of fit). */
function ticketRun(h: History): TicketRun {
  const e = h.epochs;
  const curve = {
    epoch: e.map((x) => x.epoch + 1),
    trainLoss: e.map((x) => x.trainLoss),
    testLoss: e.map((x) => x.validLoss ?? NaN),
    testAccuracy: e.map((x) => x.validAccuracy ?? NaN),
  };
  let best = 0;
  curve.testLoss.forEach((l, i) => { if (l < curve.testLoss[best]) best = i; });
  const last = e.length - 1;
  return {
    testAccuracy: curve.testAccuracy[last], testLoss: curve.testLoss[last], trainLoss: curve.trainLoss[last],
    bestEpoch: best + 1, bestTestAccuracy: curve.testAccuracy[best], curve,
  };
}

/** Every tensor's values on the host. */
async function hostValues(ts: Tensor[]): Promise<Float32Array[]> {
  return Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));
}

/** θ ← θ0 for non-weights; each weight gets its θ0 values shuffled (a fresh draw of the same distribution). */
function writeReinit(params: Tensor[], theta0: Tensor[], entries: [string, Tensor, Tensor][], init: Float32Array[], rng: Rng): void {
  writeValues(params, theta0);
  noGrad(() => tidy(() => entries.forEach(([, p], i) => {
    p.assign(tensor(shuffled(init[i], rng), [...p.shape], { dtype: p.dtype, backend: p.backend.name }));
  })));
}

function maskMap(entries: [string, Tensor, Tensor][], masks: Float32Array[]): Map<string, Float32Array> {
  return new Map(entries.map(([k], i) => [k, masks[i]]));
}

function count(m: Float32Array): number {
  let c = 0;
  for (const v of m) c += v;
  return c;
}

function fraction(masks: Float32Array[]): number {
  const total = masks.reduce((s, m) => s + m.length, 0);
  return total ? masks.reduce((s, m) => s + count(m), 0) / total : 1;
}
