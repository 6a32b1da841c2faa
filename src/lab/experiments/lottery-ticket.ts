/**
 * Slides "Lottery Tickets Hypothesis" and "Searching for Tickets: Iterative Magnitude Pruning"
 * (Over-parametrization and Sparsity; Frankle & Carbin, ICLR 2019): winning tickets against random
 * re-initialization and random pruning, test accuracy and early-stop epoch against the fraction of
 * weights remaining, and ticket weights moving farther from their initial values than the rest.
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import { lotteryTicket, type TicketRound, type TicketRun } from '../lottery';
import type { LabPlot } from '../types';
import { DIGIT_PIXELS, DIGIT_SOURCES } from '../digits';
import { checkChoice, checkInt, DATASETS, round, subSeed, twoClassData } from './common';
import { defineDigitExperiment, digitSets } from './digit-data';

/** wt.lab.experiments.lotteryTicket: the experiment of this file's slides, run with `lotteryTicket.run(settings)`. */
export const lotteryTicketExperiment = defineDigitExperiment({
  id: 'lotteryTicket',
  title: 'Lottery tickets: iterative magnitude pruning',
  description:
    'Train a dense network from θ0, prune the smallest-magnitude weights of every layer (prunePerRound of those left), reset the ' +
    'survivors to their initial values θ0 (or to θj, their values after rewindStep steps: late resetting) and train again; repeat. ' +
    'The output layer is pruned at half the rate (as Frankle & Carbin). The surviving sub-network, with its original initialization, is a "winning ticket": down to a small fraction of the weights it ' +
    'trains as fast (early-stop epoch: where the test loss is lowest) and as well as the dense network. Two controls train at the ' +
    'same sparsity: the same mask over a random re-initialization, and a random mask of the same size per layer; both fall behind ' +
    'as the network gets sparser. The table also shows that the ticket’s weights moved farther from their initial values during ' +
    'dense training than the weights pruned away.',
  defaults: {
    /** 'digits' (an MLP 784-hidden-hidden/3-10, as Frankle & Carbin's LeNet-300-100) or a 2-D set (2-hidden-hidden-2). */
    dataset: 'digits',
    /** Where digits come from: 'auto' (digits passed to run(), else MNIST, else synthetic), 'mnist', 'synthetic'. */
    source: 'auto',
    /** Training examples (per class for the 2-D sets). */
    n: 1000,
    nTest: 500,
    /** Noise of the 2-D sets. */
    noise: 0.2,
    hidden: 100,
    epochs: 10,
    batchSize: 50,
    /** Adam. */
    lr: 0.002,
    rounds: 5,
    /** Fraction of each layer's remaining weights pruned per round. */
    prunePerRound: 0.4,
    /** 0: reset to θ0; j > 0: reset to the dense run's weights after j steps. */
    rewindStep: 0,
    /** Train the random re-initialization and random-mask controls. */
    controls: true,
    seed: 11,
  },
  check: (o) => {
    const id = 'lotteryTicket';
    checkChoice(id, o, 'dataset', ['digits', ...DATASETS]);
    checkChoice(id, o, 'source', DIGIT_SOURCES);
    checkInt(id, o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize']);
    checkInt(id, o, ['rounds', 'rewindStep'], 0);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.${id}: setting 'lr' must be > 0, got ${o.lr}`);
    if (!(o.prunePerRound >= 0 && o.prunePerRound < 1)) throw new WebtrainError(`lab.${id}: setting 'prunePerRound' must be in [0, 1), got ${o.prunePerRound}`);
  },
  body: async (o, ctx, given) => {
    const digits = o.dataset === 'digits' ? await digitSets(ctx, o.source, { n: o.n, nTest: o.nTest, seed: o.seed }, given) : null;
    const data = digits ?? twoClassData(ctx, o.dataset, o);
    const sizes = digits ? [DIGIT_PIXELS, o.hidden, Math.max(1, Math.round(o.hidden / 3)), 10] : [2, o.hidden, o.hidden, 2];
    const model = ctx.own(mlp({ sizes, seed: subSeed(o.seed, 1), backend: ctx.backend }));
    const r = await lotteryTicket({
      model, data, rounds: o.rounds, prunePerRound: o.prunePerRound, rewind: o.rewindStep > 0 ? { step: o.rewindStep } : 'init',
      epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr },
      controls: { reinit: o.controls, randomMask: o.controls }, seed: subSeed(o.seed, 2), ...ctx.progress.options(),
    });
    ctx.own(r.masked);
    const pct = (x: TicketRound) => round(100 * x.remaining);
    const kinds = [['winning ticket', 'ticket'], ['random re-init', 'reinit'], ['random mask', 'randomMask']] as const;
    const across = (get: (run: TicketRun) => number) => kinds
      .map(([label, k]) => {
        const rounds = r.rounds.filter((x) => x[k]);
        return { label, x: rounds.map(pct), y: rounds.map((x) => get(x[k]!)) };
      })
      .filter((s) => s.x.length > 0);
    const accuracy: LabPlot = { title: 'Test accuracy against weights remaining', xLabel: '% of weights remaining', yLabel: 'test accuracy', series: across((x) => x.testAccuracy) };
    const speed: LabPlot = { title: 'Early-stop epoch (lowest test loss) against weights remaining', xLabel: '% of weights remaining', yLabel: 'epoch', series: across((x) => x.bestEpoch) };
    const curves: LabPlot = {
      title: 'Test loss of the tickets while training', xLabel: 'epoch', yLabel: 'cross-entropy',
      series: r.rounds.map((x) => ({ label: `${pct(x)}% remaining`, x: x.ticket.curve.epoch, y: x.ticket.curve.testLoss })),
    };
    const cell = (x?: TicketRun) => (x ? round(x.testAccuracy) : '–');
    const last = r.rounds[r.rounds.length - 1];
    return {
      plots: [accuracy, speed, curves],
      table: {
        columns: ['round', '% weights remaining', 'ticket test acc.', 'random re-init test acc.', 'random mask test acc.', 'ticket early-stop epoch'],
        rows: r.rounds.map((x) => [x.round, pct(x), cell(x.ticket), cell(x.reinit), cell(x.randomMask), x.ticket.bestEpoch]),
      },
      summary: {
        data: digits ? digits.digits.source : o.dataset,
        'test accuracy, dense': round(r.rounds[0].ticket.testAccuracy),
        '% weights remaining, sparsest ticket': pct(last),
        'test accuracy, sparsest ticket': round(last.ticket.testAccuracy),
        ...(last.reinit ? { 'test accuracy, sparsest random re-init': round(last.reinit.testAccuracy) } : {}),
        ...(last.randomMask ? { 'test accuracy, sparsest random mask': round(last.randomMask.testAccuracy) } : {}),
        ...(Number.isFinite(r.movement.rest) ? {
          'mean |θ_T − θ0| of ticket weights (dense run)': round(r.movement.ticket),
          'mean |θ_T − θ0| of pruned weights (dense run)': round(r.movement.rest),
        } : {}),
      },
    };
  },
});
