/**
 * Slide on local minima of large networks (Choromanska, Henaff, Mathieu, Ben Arous, LeCun, "The Loss
 * Surfaces of Multilayer Networks", AISTATS 2015, fig. 2): the final training losses of many random
 * starts of the same network are spread widely when it is small and gather in a narrow band as it
 * grows. Each width trains all its starts at once (an MlpEnsemble: exactly independent trainings).
 */
import { WebtrainError } from '../../errors';
import { tensor } from '../../create';
import { tidy } from '../../runtime';
import { noGrad } from '../../session';
import { crossEntropy } from '../../nn/functional';
import type { Tensor } from '../../tensor';
import { MlpEnsemble, trainEnsemble } from '../ensemble';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, defineExperiment, round, twoClassSet } from './common';
import { parseWidthList } from './lists';

/** wt.lab.experiments.minimaSpread: the experiment of this file's slide, run with `minimaSpread.run(settings)`. */
export const minimaSpread = defineExperiment({
  id: 'minimaSpread',
  title: 'Spread of the minima reached from random starts',
  description:
    'The same network is trained from many random initializations on one fixed data set (full batch, the same optimizer and ' +
    'number of steps), and the final training loss of every start is recorded, for several hidden widths. Small networks end ' +
    'in very different places: some starts find a good minimum, others get stuck high, so the losses are widely spread. As the ' +
    'width grows the final losses fall and gather in an ever narrower band: in large networks most local minima are about as ' +
    'good as each other (Choromanska et al.), and which one a start finds matters less and less. The table lists every start.',
  defaults: {
    /** 'spirals', 'moons', 'circles' or 'xor'. */
    dataset: 'circles',
    /** Examples per class. */
    n: 50,
    noise: 0.1,
    /** Comma-separated hidden widths. */
    widths: '2,4,8,16,32,64',
    /** Hidden layers of that width. */
    depth: 1,
    /** Random starts per width. */
    starts: 12,
    /** Full-batch Adam steps. */
    steps: 400,
    lr: 0.02,
    /** 'tanh' or 'relu'. */
    activation: 'relu',
    seed: 17,
  },
  check: (o) => {
    const id = 'minimaSpread';
    checkChoice(id, o, 'dataset', DATASETS);
    checkChoice(id, o, 'activation', ['tanh', 'relu']);
    checkInt(id, o, ['n', 'depth', 'starts', 'steps']);
    if (!(o.noise >= 0)) throw new WebtrainError(`lab.${id}: setting 'noise' must be >= 0, got ${o.noise}`);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.${id}: setting 'lr' must be > 0, got ${o.lr}`);
    parseWidthList(id, 'widths', o.widths);
  },
  body: async (o, ctx) => {
    const widths = parseWidthList('minimaSpread', 'widths', o.widths);
    const data = twoClassSet(ctx, o.dataset, o.n, o.noise, o.seed);
    const labels = Int32Array.from(await data.y.data());
    const N = labels.length;
    const E = o.starts;
    // The labels once per member, for the loss over the ensemble's [E·N, 2] logits.
    const tiled = ctx.own(tensor(Int32Array.from({ length: E * N }, (_, i) => labels[i % N]), [E * N], { dtype: 'i32', backend: ctx.backend }));
    const rows: (string | number)[][] = [];
    const stats = { min: [] as number[], median: [] as number[], max: [] as number[], mean: [] as number[], spread: [] as number[], initialMean: [] as number[] };
    const summary: Record<string, number | string> = { data: o.dataset, 'training examples': N };
    for (const [i, w] of widths.entries()) {
      const ens = new MlpEnsemble(E, [2, ...Array(o.depth).fill(w), 2], { activation: o.activation as 'tanh' | 'relu', seed: o.seed + 7919 * (i + 1), backend: ctx.backend });
      let initial: number[];
      let final: number[];
      try {
        initial = await memberLosses(ens, data.x, labels);
        // Σ_e mean_n CE_en = E · (the mean over all E·N rows).
        await trainEnsemble(ens, () => crossEntropy(ens.forward(data.x).reshape([E * N, 2]), tiled).mul(E), {
          steps: o.steps, lr: o.lr, progress: ctx.progress.part(i, widths.length), label: `width ${w}`,
        });
        final = await memberLosses(ens, data.x, labels);
      } finally {
        ens.dispose();
      }
      final.forEach((f, s) => rows.push([w, s + 1, round(initial[s], 6), round(f, 6)]));
      const sorted = [...final].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      // Spread from the rounded values the table shows, so it is reproducible from the table.
      const shown = final.map((f) => round(f, 6));
      const spread = Number((Math.max(...shown) - Math.min(...shown)).toPrecision(12)); // without float noise (…0004)
      stats.min.push(sorted[0]);
      stats.median.push(median);
      stats.max.push(sorted[sorted.length - 1]);
      stats.mean.push(final.reduce((a, b) => a + b, 0) / E);
      stats.spread.push(spread);
      stats.initialMean.push(initial.reduce((a, b) => a + b, 0) / E);
      summary[`spread (max − min), width ${w}`] = spread;
    }
    const byWidth = (label: string, y: number[]) => ({ label, x: widths, y });
    const losses: LabPlot = {
      title: `Final training loss of ${E} random starts against width`, xLabel: 'hidden width', yLabel: 'final training loss (cross-entropy)',
      series: [byWidth('max', stats.max), byWidth('median', stats.median), byWidth('min', stats.min), byWidth('mean initial loss', stats.initialMean)],
    };
    const spread: LabPlot = {
      title: 'Spread of the final losses (max − min) against width', xLabel: 'hidden width', yLabel: 'max − min of the final loss', logY: true,
      // Floored at 1e-12 for the log scale (a spread of exactly 0: every start ended at the same loss).
      series: [byWidth('spread', stats.spread.map((v) => Math.max(v, 1e-12)))],
    };
    summary['spread, narrowest'] = stats.spread[0];
    summary['spread, widest'] = stats.spread[stats.spread.length - 1];
    summary['median final loss, narrowest'] = round(stats.median[0]);
    summary['median final loss, widest'] = round(stats.median[stats.median.length - 1]);
    return {
      plots: [losses, spread],
      table: { columns: ['width', 'start', 'initial loss', 'final loss'], rows },
      summary,
    };
  },
});

/** Each member's mean cross-entropy over the data, computed on the host in float64 from the logits. */
async function memberLosses(ens: MlpEnsemble, x: Tensor, labels: Int32Array): Promise<number[]> {
  const logits = noGrad(() => tidy(() => ens.forward(x)));
  let v: Float32Array;
  try {
    v = Float32Array.from(await logits.data());
  } finally {
    logits.dispose();
  }
  const N = labels.length;
  const C = ens.sizes[ens.sizes.length - 1];
  return Array.from({ length: ens.members }, (_, e) => {
    let total = 0;
    for (let r = 0; r < N; r++) {
      const row = (e * N + r) * C;
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, v[row + c]);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(v[row + c] - m);
      total += m + Math.log(s) - v[row + labels[r]];
    }
    return total / N;
  });
}
