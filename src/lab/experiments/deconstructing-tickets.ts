/**
 * Slide "Deconstructing Lottery Tickets" (Over-parametrization and Sparsity; Zhou, Lan, Liu,
 * Yosinski, NeurIPS 2019): which weights to keep matters (mask criteria compared at equal sparsity,
 * each rewound to θ0 and retrained), and a mask alone can make an untrained network perform: the
 * supermask, trained over frozen random weights, against a random mask of the same size.
 */
import { WebtrainError } from '../../errors';
import { mlp } from '../../nn/mlp';
import type { Sequential } from '../../nn/layers';
import { deconstructTickets, ZHOU_CRITERIA } from '../deconstruct';
import { supermask, type SupermaskResult } from '../supermask';
import { MASK_CRITERIA, type MaskCriterion } from '../prune';
import { DIGIT_PIXELS, DIGIT_SOURCES } from '../digits';
import type { LabPlot } from '../types';
import { checkChoice, checkInt, DATASETS, round, subSeed, twoClassData } from './common';
import { defineDigitExperiment, digitSets } from './digit-data';
import { parseNumberList } from './lists';

const ID = 'deconstructingTickets';

/** wt.lab.experiments.deconstructingTickets: the experiment of this file's slide, run with `deconstructingTickets.run(settings)` (or `run({digits})`). */
export const deconstructingTickets = defineDigitExperiment({
  id: ID,
  title: 'Deconstructing lottery tickets: mask criteria and supermasks',
  description:
    'Zhou et al. asked what makes a lottery ticket. The dense network is trained once from θ0; then, for each mask criterion ' +
    '(keep the weights with large final magnitude, small final magnitude, large initial magnitude, the largest increase in ' +
    'magnitude, or at random) the same fraction of every weight matrix is pruned, the survivors are rewound to θ0 and ' +
    'retrained. Criteria that keep weights which grew (large_final, magnitude_increase) stay close to the dense network ' +
    'deep into sparsity; small_final and random fall away. The second part trains no weight at all: a score per weight is ' +
    'learned over frozen random weights, the mask keeps the top-scoring fraction of each layer (straight-through gradients), ' +
    'and this supermask alone reaches an accuracy far above a random mask of the same size over the same weights.',
  defaults: {
    /** 'digits' (an MLP 784-hidden-hidden/3-10) or a 2-D set (2-hidden-hidden-2). */
    dataset: 'digits',
    /** Where digits come from: 'auto' (digits passed to run(), else MNIST, else synthetic), 'mnist', 'synthetic'. */
    source: 'auto',
    /** Training examples (per class for the 2-D sets). */
    n: 1000,
    nTest: 500,
    /** Noise of the 2-D sets. */
    noise: 0.2,
    hidden: 100,
    epochs: 8,
    batchSize: 50,
    /** Adam, for the dense network and the retrained tickets. */
    lr: 0.002,
    /** Comma-separated fractions of every weight matrix pruned. */
    sparsities: '0.5,0.8,0.95',
    /** Comma-separated mask criteria (of large_final, small_final, large_init, small_init, magnitude_increase, movement, random). */
    criteria: ZHOU_CRITERIA.join(','),
    /** Comma-separated sparsities of the supermasks (empty: no supermask). */
    supermaskSparsities: '0.3,0.5,0.7',
    supermaskEpochs: 10,
    /** Adam on the scores. */
    supermaskLr: 0.05,
    seed: 13,
  },
  check: (o) => {
    checkChoice(ID, o, 'dataset', ['digits', ...DATASETS]);
    checkChoice(ID, o, 'source', DIGIT_SOURCES);
    checkInt(ID, o, ['n', 'nTest', 'hidden', 'epochs', 'batchSize', 'supermaskEpochs']);
    if (!(o.lr > 0)) throw new WebtrainError(`lab.${ID}: setting 'lr' must be > 0, got ${o.lr}`);
    if (!(o.supermaskLr > 0)) throw new WebtrainError(`lab.${ID}: setting 'supermaskLr' must be > 0, got ${o.supermaskLr}`);
    parseNumberList(ID, 'sparsities', o.sparsities, (s) => s >= 0 && s <= 1, 'fractions in [0, 1]');
    parseCriteria(o.criteria);
    if (o.supermaskSparsities.trim() !== '') parseNumberList(ID, 'supermaskSparsities', o.supermaskSparsities, (s) => s >= 0 && s < 1, 'fractions in [0, 1)');
  },
  body: async (o, ctx, given) => {
    const sparsities = parseNumberList(ID, 'sparsities', o.sparsities, (s) => s >= 0 && s <= 1, 'fractions in [0, 1]');
    const criteria = parseCriteria(o.criteria);
    const smSparsities = o.supermaskSparsities.trim() === '' ? [] : parseNumberList(ID, 'supermaskSparsities', o.supermaskSparsities, (s) => s >= 0 && s < 1, 'fractions in [0, 1)');
    const digits = o.dataset === 'digits' ? await digitSets(ctx, o.source, { n: o.n, nTest: o.nTest, seed: o.seed }, given) : null;
    const data = digits ?? twoClassData(ctx, o.dataset, o);
    const sizes = digits ? [DIGIT_PIXELS, o.hidden, Math.max(1, Math.round(o.hidden / 3)), 10] : [2, o.hidden, o.hidden, 2];
    const netSeed = subSeed(o.seed, 1);
    const share = smSparsities.length ? 0.7 : 1;

    const model = ctx.own(mlp({ sizes, seed: netSeed, backend: ctx.backend }));
    const r = await deconstructTickets({
      model, data, sparsities, criteria, epochs: o.epochs, batchSize: o.batchSize, optimizer: { name: 'adam', lr: o.lr },
      seed: subSeed(o.seed, 2), ...ctx.progress.sub(0, share).options(),
    });
    const pct = (s: number) => round(100 * (1 - s));
    const perCriterion = (get: (x: (typeof r.runs)[number]) => number) => criteria.map((c) => {
      const runs = r.runs.filter((x) => x.criterion === c);
      return { label: c, x: runs.map((x) => round(100 * x.remaining)), y: runs.map(get) };
    });
    const xs = sparsities.map(pct);
    const retrained: LabPlot = {
      title: 'Test accuracy after rewinding to θ0 and retraining, by mask criterion', xLabel: '% of weights kept', yLabel: 'test accuracy',
      series: [...perCriterion((x) => x.testAccuracy), { label: 'dense network', x: xs, y: xs.map(() => r.dense.testAccuracy) }],
    };
    const untrained: LabPlot = {
      title: 'Test accuracy of the masked θ0, before retraining', xLabel: '% of weights kept', yLabel: 'test accuracy',
      series: [...perCriterion((x) => x.maskedInitAccuracy), { label: 'θ0, all weights', x: xs, y: xs.map(() => r.dense.initAccuracy) }],
    };
    const rows: (string | number)[][] = r.runs.map((x) => [x.criterion, round(100 * x.remaining), x.kept.reduce((a, b) => a + b, 0), round(x.testAccuracy), round(x.maskedInitAccuracy)]);
    const summary: Record<string, number | string> = { data: digits ? digits.digits.source : o.dataset, 'test accuracy, dense': round(r.dense.testAccuracy) };
    const sparsest = Math.max(...sparsities);
    for (const x of r.runs) if (x.sparsity === sparsest) summary[`test accuracy at ${pct(sparsest)}% kept, ${x.criterion}`] = round(x.testAccuracy);
    const plots = [retrained, untrained];

    if (smSparsities.length) {
      // The same architecture and seed: the frozen weights are θ0 of the tickets above.
      const frozen = ctx.own(mlp({ sizes, seed: netSeed, backend: ctx.backend })) as Sequential;
      const sm: SupermaskResult[] = [];
      for (const [i, s] of smSparsities.entries()) {
        sm.push(await supermask({
          model: frozen, data, sparsity: s, epochs: o.supermaskEpochs, batchSize: o.batchSize, lr: o.supermaskLr, seed: subSeed(o.seed, 10 + i),
          ...ctx.progress.sub(share + ((1 - share) * i) / smSparsities.length, share + ((1 - share) * (i + 1)) / smSparsities.length).options(),
        }));
      }
      const smx = smSparsities.map(pct);
      plots.push({
        title: 'Supermasks: frozen random weights, only the mask trained', xLabel: '% of weights kept', yLabel: 'test accuracy',
        series: [
          { label: 'supermask', x: smx, y: sm.map((x) => x.testAccuracy) },
          { label: 'random mask, same size', x: smx, y: sm.map((x) => x.randomMaskTestAccuracy) },
          { label: 'untrained, all weights', x: smx, y: sm.map((x) => x.denseTestAccuracy) },
        ],
      });
      sm.forEach((x, i) => {
        const kept = x.kept.reduce((a, b) => a + b, 0);
        const total = x.masks.reduce((a, m) => a + m.length, 0);
        rows.push(['supermask (weights untrained)', round(100 * kept / total), kept, round(x.testAccuracy), '–']);
        rows.push(['random mask (weights untrained)', round(100 * kept / total), kept, round(x.randomMaskTestAccuracy), '–']);
        summary[`supermask test accuracy at ${smx[i]}% kept`] = round(x.testAccuracy);
        summary[`random mask test accuracy at ${smx[i]}% kept`] = round(x.randomMaskTestAccuracy);
      });
    }
    return {
      plots,
      table: { columns: ['mask', '% weights kept', 'weights kept', 'test accuracy', 'test accuracy of masked θ0 (no training)'], rows },
      summary,
    };
  },
});

function parseCriteria(s: string): MaskCriterion[] {
  const v = s.split(',').map((x) => x.trim());
  if (!v.every((c) => (MASK_CRITERIA as readonly string[]).includes(c))) {
    throw new WebtrainError(`lab.${ID}: setting 'criteria' must be comma-separated names of ${MASK_CRITERIA.join(', ')}, got ${JSON.stringify(s)}`);
  }
  return v as MaskCriterion[];
}
