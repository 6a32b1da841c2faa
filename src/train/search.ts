/**
 * Model selection: grid search and random search over hyper-parameter configurations.
 *
 * The caller's `trainFn(config)` trains a model with that configuration and returns its score,
 * which should be measured on a VALIDATION set (never the test set: choosing by test score makes the
 * test score optimistic). It returns a number, or an object `{score, ...}` kept as the trial's
 * `result` (the history, the model...). Trials run one after another (they share the device).
 *
 * ```ts
 * const { best } = await wt.train.gridSearch({ lr: [1e-3, 1e-2], hidden: [32, 64] }, async (c) => {
 *   const model = wt.nn.mlp({ sizes: [2, c.hidden, 2], seed: 0 });
 *   await wt.train.fit(model, train, { epochs: 20, batchSize: 32, optimizer: { name: 'adam', lr: c.lr } });
 *   const { loss } = await wt.train.evaluate(model, valid);
 *   model.dispose();
 *   return loss;                                  // minimized by default
 * });
 * ```
 */
import { WebtrainError } from '../errors';
import { uniformAt } from '../random/philox';

/** What trainFn returns: a score, or an object with one (kept whole as the trial's result). */
export type TrialOutcome = number | ({ score: number } & Record<string, unknown>);

export interface Trial<C, R extends TrialOutcome = TrialOutcome> {
  config: C;
  score: number;
  /** What trainFn returned (the number itself when it returned a number). */
  result: R;
}

export interface SearchResult<C, R extends TrialOutcome = TrialOutcome> {
  /** Every trial, in the order they ran. */
  trials: Trial<C, R>[];
  /** The trial with the lowest score (highest with minimize: false); NaN scores never win. Null only when every score was NaN. */
  best: Trial<C, R> | null;
}

export interface SearchOptions<C, R extends TrialOutcome = TrialOutcome> {
  /** Lower scores are better (a loss, default); false for accuracies. */
  minimize?: boolean;
  /** Called after each trial (progress reports). */
  onTrial?: (trial: Trial<C, R>, index: number, total: number) => void | Promise<void>;
}

/**
 * Every combination of the listed values (the Cartesian product, the first key varying slowest):
 * `{lr: [0.1, 0.01], width: [32, 64]}` runs 4 trials.
 */
export async function gridSearch<S extends Record<string, readonly unknown[]>, R extends TrialOutcome>(
  space: S,
  trainFn: (config: { [K in keyof S]: S[K][number] }) => Promise<R> | R,
  opts: SearchOptions<{ [K in keyof S]: S[K][number] }, R> = {},
): Promise<SearchResult<{ [K in keyof S]: S[K][number] }, R>> {
  type C = { [K in keyof S]: S[K][number] };
  if (typeof space !== 'object' || space === null) throw new WebtrainError('gridSearch: space must be an object of value lists, e.g. {lr: [0.1, 0.01]}');
  const keys = Object.keys(space);
  for (const k of keys) {
    if (!Array.isArray(space[k]) || space[k].length === 0) {
      throw new WebtrainError(`gridSearch: space.${k} must be a non-empty array of values, got ${JSON.stringify(space[k])}`);
    }
  }
  const configs: C[] = [{} as C];
  for (const k of keys) {
    const next: C[] = [];
    for (const c of configs) for (const v of space[k]) next.push({ ...c, [k]: v });
    configs.splice(0, configs.length, ...next);
  }
  return runTrials('gridSearch', configs, trainFn, opts);
}

/** A distribution to draw one hyper-parameter from; see uniform, logUniform, intUniform, choice. */
export interface Distribution<T = unknown> {
  readonly kind: 'uniform' | 'logUniform' | 'intUniform' | 'choice';
  /** Maps u ∈ [0, 1) to a value. */
  sample(u: number): T;
}

/** Uniform on [a, b). */
export function uniform(a: number, b: number): Distribution<number> {
  checkRange('uniform', a, b);
  return { kind: 'uniform', sample: (u) => a + (b - a) * u };
}

/** Log-uniform on [a, b), a > 0: uniform in log space, for scales such as learning rates (1e-4 .. 1e-1). */
export function logUniform(a: number, b: number): Distribution<number> {
  checkRange('logUniform', a, b);
  if (!(a > 0)) throw new WebtrainError(`logUniform: bounds must be positive, got [${a}, ${b}]`);
  const la = Math.log(a);
  const lb = Math.log(b);
  return { kind: 'logUniform', sample: (u) => Math.exp(la + (lb - la) * u) };
}

/** An integer uniform on [a, b], both ends included. */
export function intUniform(a: number, b: number): Distribution<number> {
  if (!Number.isInteger(a) || !Number.isInteger(b) || a > b) throw new WebtrainError(`intUniform: bounds must be integers with a <= b, got [${a}, ${b}]`);
  return { kind: 'intUniform', sample: (u) => a + Math.floor(u * (b - a + 1)) };
}

/** One of the values, each equally likely. */
export function choice<T>(values: readonly T[]): Distribution<T> {
  if (!Array.isArray(values) || values.length === 0) throw new WebtrainError('choice: expected a non-empty array of values');
  return { kind: 'choice', sample: (u) => values[Math.floor(u * values.length)] };
}

type Drawn<S> = { [K in keyof S]: S[K] extends Distribution<infer T> ? T : S[K] extends readonly (infer E)[] ? E : S[K] };

/**
 * `n` configurations drawn independently from `space` (a Distribution per key; a plain array is a
 * choice among its values, any other value is fixed), with a seeded generator: the same seed gives
 * the same configurations.
 */
export async function randomSearch<S extends Record<string, unknown>, R extends TrialOutcome>(
  space: S,
  n: number,
  trainFn: (config: Drawn<S>) => Promise<R> | R,
  opts: SearchOptions<Drawn<S>, R> & { seed?: number } = {},
): Promise<SearchResult<Drawn<S>, R>> {
  if (typeof space !== 'object' || space === null) throw new WebtrainError('randomSearch: space must be an object of distributions, e.g. {lr: logUniform(1e-4, 1e-1)}');
  if (!Number.isInteger(n) || n < 1) throw new WebtrainError(`randomSearch: n (the number of trials) must be a positive integer, got ${n}`);
  const { seed = 0, ...rest } = opts;
  if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new WebtrainError(`randomSearch: seed must be a non-negative integer, got ${seed}`);
  const keys = Object.keys(space);
  const configs: Drawn<S>[] = [];
  for (let i = 0; i < n; i++) {
    const c: Record<string, unknown> = {};
    keys.forEach((k, j) => {
      const d = space[k];
      // Philox: one uniform for (trial i, key j); the same seed and space give the same configurations.
      const u = uniformAt(i * keys.length + j, seed, 0x5ea7c4);
      if (isDistribution(d)) c[k] = d.sample(u);
      else if (Array.isArray(d)) c[k] = choice(d).sample(u);
      else c[k] = d;
    });
    configs.push(c as Drawn<S>);
  }
  return runTrials('randomSearch', configs, trainFn, rest);
}

async function runTrials<C, R extends TrialOutcome>(where: string, configs: C[], trainFn: (config: C) => Promise<R> | R,
  opts: SearchOptions<C, R>): Promise<SearchResult<C, R>> {
  if (typeof trainFn !== 'function') throw new WebtrainError(`${where}: trainFn must be a function (config) => score`);
  const { minimize = true, onTrial } = opts;
  const trials: Trial<C, R>[] = [];
  let best: Trial<C, R> | null = null;
  for (const [i, config] of configs.entries()) {
    const result = await trainFn(config);
    const score = typeof result === 'number' ? result : result?.score;
    if (typeof score !== 'number') {
      throw new WebtrainError(`${where}: trainFn must return a number or {score: number, ...}, got ${JSON.stringify(result)} for ${JSON.stringify(config)}`);
    }
    const trial: Trial<C, R> = { config, score, result };
    trials.push(trial);
    if (!Number.isNaN(score) && (best === null || (minimize ? score < best.score : score > best.score))) best = trial;
    await onTrial?.(trial, i, configs.length);
  }
  return { trials, best };
}

function isDistribution(d: unknown): d is Distribution {
  return typeof d === 'object' && d !== null && typeof (d as Distribution).sample === 'function' && 'kind' in d;
}

function checkRange(name: string, a: number, b: number): void {
  if (!(Number.isFinite(a) && Number.isFinite(b) && a < b)) throw new WebtrainError(`${name}: expected finite bounds a < b, got [${a}, ${b}]`);
}
