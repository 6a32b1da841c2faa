/**
 * Slide material on adversarial examples (Goodfellow, Shlens, Szegedy, "Explaining and Harnessing
 * Adversarial Examples", ICLR 2015): the fast gradient sign method on digits: the original image,
 * the perturbation ε·sign(∇ₓL), the adversarial image, both predictions, and test accuracy against
 * ε next to random sign noise of the same size.
 */
import { WebtrainError } from '../../errors';
import { rand } from '../../create';
import { tidy } from '../../runtime';
import { noGrad } from '../../session';
import type { Tensor } from '../../tensor';
import { mlp } from '../../nn/mlp';
import { fgsm } from '../adversarial';
import { DIGIT_SIDE, DIGIT_SOURCES } from '../digits';
import type { LabHeatmap, LabPlot } from '../types';
import { checkChoice, checkInt, round, score, subSeed, train } from './common';
import { defineDigitExperiment, digitSets } from './digit-data';

/** wt.lab.experiments.adversarial: the experiment of this file's slides, run with `adversarial.run(settings)` (or `run({digits})`). */
export const adversarial = defineDigitExperiment({
  id: 'adversarial',
  title: 'Adversarial examples (fast gradient sign method)',
  description:
    'Train a small network on handwritten digits, then move every test image a step of size ε in the direction that increases ' +
    'its loss the fastest, pixel by pixel: x + ε·sign(∇ₓ loss), clipped to the pixel range [0, 1]. A perturbation too faint to ' +
    'change what a person sees flips the prediction: test accuracy collapses as ε grows, while random ±ε noise of the same size ' +
    'barely hurts it. The heatmaps show one digit, the perturbation and the adversarial image, with both predictions. Digits come ' +
    'from run({digits}) when given, else MNIST where it can be loaded (Node), else synthetic seven-segment digits; the summary ' +
    'says which.',
  defaults: {
    /** 'auto': digits passed to run(), else MNIST, else synthetic; 'mnist'; 'synthetic'. */
    source: 'auto',
    n: 2000,
    nTest: 500,
    hidden: 100,
    epochs: 5,
    batchSize: 50,
    /** Adam. */
    lr: 0.002,
    /** Comma-separated ε values for the accuracy curve. */
    epsilons: '0,0.02,0.05,0.1,0.15,0.2,0.3',
    /** ε of the example shown. */
    showEpsilon: 0.1,
    seed: 21,
  },
  check: (o) => {
    const id = 'adversarial';
    checkChoice(id, o, 'source', DIGIT_SOURCES);
    checkInt(id, o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize']);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.${id}: setting 'lr' must be > 0, got ${o.lr}`);
    if (!(o.showEpsilon >= 0)) throw new WebtrainError(`lab.${id}: setting 'showEpsilon' must be >= 0, got ${o.showEpsilon}`);
    parseEpsilons(o.epsilons);
  },
  body: async (o, ctx, given) => {
    const epsilons = parseEpsilons(o.epsilons);
    const { train: trainSet, test, digits } = await digitSets(ctx, o.source, { n: o.n, nTest: o.nTest, seed: o.seed }, given);
    const model = ctx.own(mlp({ sizes: [784, o.hidden, 10], seed: subSeed(o.seed, 1), backend: ctx.backend }));
    await train(ctx.progress.sub(0, 0.6), model, trainSet, {
      epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr }, seed: subSeed(o.seed, 2), readsPerEpoch: 1, label: 'training',
    });
    model.eval();
    const clean = await score(model, test);
    const attacked: number[] = [];
    const noisy: number[] = [];
    for (const [i, eps] of epsilons.entries()) {
      const adv = fgsm(model, test.x, test.y, eps);
      attacked.push(await accuracy(model, adv, test.y));
      adv.dispose();
      const noise = noGrad(() => tidy(() => rand([...test.x.shape], { seed: subSeed(o.seed, 100 + i), backend: ctx.backend })
        .lt(0.5).cast('f32').mul(2 * eps).sub(eps).add(test.x).maximum(0).minimum(1)));
      noisy.push(await accuracy(model, noise, test.y));
      noise.dispose();
      await ctx.progress.report(0.6 + (0.3 * (i + 1)) / epsilons.length, `ε = ${eps}`);
    }
    // The example: the first test digit the model gets right.
    const probs = noGrad(() => tidy(() => model.forward(test.x).softmax(1)));
    const p = await probs.data();
    probs.dispose();
    const labels = digits.test.labels;
    const argmax = (row: ArrayLike<number>, at: number) => { let b = 0; for (let c = 1; c < 10; c++) if (row[at + c] > row[at + b]) b = c; return b; };
    let k = 0;
    while (k < labels.length - 1 && argmax(p, 10 * k) !== labels[k]) k++;
    const x1 = noGrad(() => test.x.slice([k, 0], [1, -1]));
    const y1 = noGrad(() => test.y.slice([k], [1]));
    const adv1 = fgsm(model, x1, y1, o.showEpsilon);
    const advProbs = noGrad(() => tidy(() => model.forward(adv1).softmax(1)));
    const [orig, adv, q] = [await x1.data(), await adv1.data(), await advProbs.data()];
    for (const t of [x1, y1, adv1, advProbs]) t.dispose();
    const before = argmax(p, 10 * k);
    const after = argmax(q, 0);
    await ctx.progress.report(1);
    const px = Array.from({ length: DIGIT_SIDE }, (_, i) => i);
    const image = (title: string, values: ArrayLike<number>): LabHeatmap => ({ title, xLabel: 'column', yLabel: 'row', xs: px, ys: px, values: Array.from(values) });
    const curve: LabPlot = {
      title: 'Test accuracy against ε', xLabel: 'ε', yLabel: 'test accuracy',
      series: [{ label: 'FGSM', x: epsilons, y: attacked }, { label: 'random ±ε noise', x: epsilons, y: noisy }],
    };
    return {
      plots: [curve],
      heatmaps: [
        image(`Original: label ${labels[k]}, predicted ${before} (p = ${p[10 * k + before].toFixed(3)})`, orig),
        image(`Perturbation ε·sign(∇ₓL), ε = ${o.showEpsilon}`, Array.from(adv, (v, i) => v - orig[i])),
        image(`Adversarial: predicted ${after} (p = ${q[after].toFixed(3)})`, adv),
      ],
      table: { columns: ['ε', 'test accuracy, FGSM', 'test accuracy, random ±ε'], rows: epsilons.map((e, i) => [e, round(attacked[i]), round(noisy[i])]) },
      summary: {
        data: digits.source,
        'test accuracy, clean': round(clean.accuracy),
        [`test accuracy, FGSM ε = ${epsilons[epsilons.length - 1]}`]: round(attacked[attacked.length - 1]),
        [`test accuracy, random noise ε = ${epsilons[epsilons.length - 1]}`]: round(noisy[noisy.length - 1]),
        'example label': labels[k],
        'example prediction, original': before,
        'example prediction, adversarial': after,
        'example probability of the label, original': round(p[10 * k + labels[k]]),
        'example probability of the label, adversarial': round(q[labels[k]]),
      },
    };
  },
});

async function accuracy(model: { forward(x: Tensor): Tensor }, x: Tensor, y: Tensor): Promise<number> {
  const a = noGrad(() => tidy(() => model.forward(x).argmax(1).eq(y).cast('f32').mean()));
  try {
    return await a.item();
  } finally {
    a.dispose();
  }
}

function parseEpsilons(s: string): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length === 0 || !v.every((e) => Number.isFinite(e) && e >= 0)) {
    throw new WebtrainError(`lab.adversarial: setting 'epsilons' must be comma-separated numbers >= 0, got ${JSON.stringify(s)}`);
  }
  return v;
}
