/**
 * The image experiments' data: digits from arrays passed to run({digits}) (a browser page bundles a
 * subset of MNIST), else wt.data.mnist where it loads, else synthetic seven-segment digits (see
 * ../digits.ts); `source` picks one. defineDigitExperiment is defineExperiment with that extra,
 * non-setting run option.
 */
import type { Dataset } from '../../data/dataset';
import { digitDataset, loadDigits, type DigitArrays, type Digits } from '../digits';
import type { Experiment, OptionValue, RunOptions } from '../types';
import { defineExperiment, type Context, type ExperimentSpec, type LabBody } from './common';

/** What run() of an image experiment accepts besides its settings. */
export interface DigitRunOptions extends RunOptions {
  /** Digits to use instead of loading MNIST: images [N, 784] in [0, 1], labels 0..9 (used unless source is 'synthetic'). */
  digits?: DigitArrays;
}

/** An experiment whose body also gets the digits passed to run(), if any. */
export interface DigitExperimentSpec<O extends Record<string, OptionValue>> extends Omit<ExperimentSpec<O>, 'body'> {
  body: (o: O, ctx: Context, digits: DigitArrays | undefined) => Promise<LabBody>;
}

/** defineExperiment, with `digits` taken out of run()'s options and handed to the body. */
export function defineDigitExperiment<O extends Record<string, OptionValue>>(spec: DigitExperimentSpec<O>): Experiment<O, DigitRunOptions> {
  const entry = defineExperiment({ ...spec, body: (o, ctx) => spec.body(o, ctx, undefined) });
  return {
    ...entry,
    run(opts: Partial<O> & DigitRunOptions = {}) {
      const { digits, ...rest } = opts;
      if (!digits) return entry.run(rest as Partial<O> & RunOptions);
      return defineExperiment({ ...spec, body: (o, ctx) => spec.body(o, ctx, digits) }).run(rest as Partial<O> & RunOptions);
    },
  };
}

/** Train and test digit sets on the run's backend, owned by the context, and where they came from. */
export async function digitSets(ctx: Context, source: string, o: { n: number; nTest: number; seed: number }, given: DigitArrays | undefined,
  relabel?: (labels: Int32Array) => Int32Array): Promise<{ train: Dataset; test: Dataset; digits: Digits }> {
  const digits = await loadDigits(source, { ...o, given });
  const trainLabels = relabel ? relabel(digits.train.labels) : digits.train.labels;
  const train = ctx.own(digitDataset({ images: digits.train.images, labels: trainLabels }, ctx.backend));
  const test = ctx.own(digitDataset(digits.test, ctx.backend));
  return { train, test, digits };
}
