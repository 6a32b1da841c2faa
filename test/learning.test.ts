/** End to end: an MLP learns two interleaved spirals with each optimizer, on every backend. */
import { afterAll, describe, expect, test } from 'vitest';
import * as wt from '../src/index';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

/** Two spirals, `n` points each, labels 0 and 1. */
function spirals(n: number, backend: wt.BackendName) {
  const points: number[] = [];
  const labels: number[] = [];
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < n; i++) {
      const r = (i / n) * 2.5 + 0.2;
      const t = (i / n) * 3 * Math.PI + c * Math.PI;
      points.push(r * Math.cos(t), r * Math.sin(t));
      labels.push(c);
    }
  }
  return { x: wt.tensor(points, [2 * n, 2], { backend }), y: wt.tensor(labels, [2 * n], { dtype: 'i32', backend }) };
}

/**
 * Optimizer and options; each must take the loss from ~0.69 to below THRESHOLD in STEPS full-batch
 * steps. (On the CPU backend they reach 0.001-0.043 after 250 steps.)
 */
const RUNS: [string, Record<string, unknown>][] = [
  ['SGD', { lr: 0.1, momentum: 0.9 }],
  ['SGD', { lr: 0.1, momentum: 0.9, nesterov: true }],
  ['Adagrad', { lr: 0.1 }],
  ['RMSprop', { lr: 0.003 }],
  ['Adam', { lr: 0.01 }],
  ['AdamW', { lr: 0.01 }],
];
const STEPS = 250;
const THRESHOLD = 0.1;

describe.each(backends)('%s', (backend) => {
  test.each(RUNS)(`%s %j drives the spiral loss below ${THRESHOLD}`, async (name, hp) => {
    const { x, y } = spirals(64, backend);
    const model = wt.nn.mlp({ sizes: [2, 32, 32, 2], activation: 'relu', seed: 1, backend });
    const Opt = (wt.optim as unknown as Record<string, new (p: wt.Tensor[], o: object) => wt.optim.Optimizer<never>>)[name];
    const opt = new Opt(model.parameters(), hp);
    const losses: number[] = [];
    for (let step = 1; step <= STEPS; step++) {
      opt.zeroGrad();
      const loss = wt.tidy(() => wt.nn.functional.crossEntropy(model.forward(x), y));
      loss.backward();
      opt.step();
      if (step === 1 || step === STEPS) losses.push(await loss.item());
      loss.dispose();
    }
    expect(losses[0]).toBeGreaterThan(0.5);
    expect(losses[1]).toBeLessThan(THRESHOLD);
    opt.dispose();
    model.dispose();
  });
});
