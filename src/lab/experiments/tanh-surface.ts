/**
 * Slides "Non-convex loss surfaces", "Weight initialization" and "Saddle points" (Neural Network
 * Optimization): the loss surface of ŷ = tanh(w1·tanh(w2·x)) on the one example (0.5, 0.5), with
 * gradient-descent paths from zero, small and large initializations, and Newton's method beside
 * gradient descent near the saddle.
 */
import { tensor } from '../../create';
import { WebtrainError } from '../../errors';
import { lossSurface2d } from '../surface';
import { tanhPaths, tanhToy, type TanhPath } from '../tanh-toy';
import type { LabPlot } from '../types';
import { checkInt, defineExperiment, round } from './common';

/** wt.lab.experiments.tanhSurface: the experiment of this file's slides, run with `tanhSurface.run(settings)`. */
export const tanhSurface = defineExperiment({
  id: 'tanhSurface',
  title: 'Loss surface of a two-weight network: saddle, plateaus, ravines',
  description:
    'The simplest multi-layer perceptron, ŷ = tanh(w1·tanh(w2·x)), with square loss on the single example (x, y) = (0.5, 0.5). ' +
    'Its loss surface has a big saddle point at zero, plateaus far out where tanh saturates, and two symmetric ravines of zero loss. ' +
    'Gradient descent started exactly at zero never moves (the gradient is zero there); from a small initialization it is slowly ' +
    'repelled from the saddle and slides into a ravine; from a large one it sits on a plateau with vanishing gradients. ' +
    "Newton's method, started near the saddle, jumps to the stationary point of its quadratic model and is attracted to the saddle, " +
    'while gradient descent from the same point escapes.',
  defaults: {
    /** The grid covers [-range, range]² in (w1, w2). */
    range: 4,
    gridSteps: 33,
    /** Gradient-descent learning rate. */
    lr: 0.5,
    /** Steps per path. */
    steps: 40,
    /** Small initialization: the path starts at (s, -s/2). */
    smallInit: 0.1,
    /** Large initialization: the path starts at (L, -L). */
    largeInit: 4,
    /** Newton and gradient descent both start at (r, 2r/3), near the saddle. */
    nearSaddle: 0.3,
  },
  check: (o) => {
    checkInt('tanhSurface', o, ['gridSteps']);
    checkInt('tanhSurface', o, ['steps'], 0);
    if (!(o.range > 0)) throw new WebtrainError(`lab.tanhSurface: setting 'range' must be > 0, got ${o.range}`);
  },
  body: async (o, ctx) => {
    const { progress, backend } = ctx;
    // The generic tool on the toy: the plane through θ = (0, 0) spanned by the axes e1, e2, so the
    // grid coordinates (a, b) are the weights (w1, w2) themselves.
    const w = ctx.own(tensor([0, 0], [2], { backend, requiresGrad: true }));
    const e1 = ctx.own(tensor([1, 0], [2], { backend }));
    const e2 = ctx.own(tensor([0, 1], [2], { backend }));
    const surface = await lossSurface2d(() => tanhToy.lossTensor(w), [w], {
      dirs: [[e1], [e2]], range: o.range, steps: o.gridSteps, ...progress.sub(0, 0.5).options(),
    });

    const gdStarts: [string, [number, number]][] = [
      ['GD from zero', [0, 0]],
      ['GD from a small init', [o.smallInit, -o.smallInit / 2]],
      ['GD from a large init', [o.largeInit, -o.largeInit]],
      ['GD near the saddle', [o.nearSaddle, (2 * o.nearSaddle) / 3]],
    ];
    const gd = await tanhPaths({ starts: gdStarts.map(([, s]) => s), method: 'gd', lr: o.lr, steps: o.steps, backend, ...progress.sub(0.5, 0.8).options() });
    const [newton] = await tanhPaths({ starts: [gdStarts[3][1]], method: 'newton', steps: Math.min(o.steps, 20), backend, ...progress.sub(0.8, 1).options() });
    const paths: [string, TanhPath][] = [...gdStarts.map(([label], i): [string, TanhPath] => [label, gd[i]]), ["Newton near the saddle", newton]];

    const lossPlot: LabPlot = {
      title: 'Loss along each path', xLabel: 'step', yLabel: 'loss',
      series: paths.map(([label, p]) => ({ label, x: p.losses.map((_, k) => k), y: p.losses })),
    };
    const summary: Record<string, number | string> = { 'loss at the saddle (0, 0)': tanhToy.loss(0, 0) };
    for (const [label, p] of paths) summary[`final loss, ${label}`] = round(p.losses.at(-1) ?? NaN);
    const [nw1, nw2] = newton.points.at(-1) ?? [NaN, NaN];
    summary["Newton's distance to the saddle at the end"] = round(Math.hypot(nw1, nw2));
    return {
      plots: [lossPlot],
      heatmaps: [{
        title: 'L(w1, w2) = (0.5 − tanh(w1·tanh(0.5·w2)))²', xLabel: 'w1', yLabel: 'w2',
        xs: surface.alphas, ys: surface.betas, values: surface.loss,
        paths: paths.map(([label, p]) => ({ label, points: p.points })),
      }],
      table: {
        columns: ['path', 'start w1', 'start w2', 'end w1', 'end w2', 'final loss', 'steps'],
        rows: paths.map(([label, p]) => {
          const end = p.points.at(-1) ?? [NaN, NaN];
          return [label, p.start[0], p.start[1], round(end[0]), round(end[1]), round(p.losses.at(-1) ?? NaN), p.points.length - 1];
        }),
      },
      summary,
    };
  },
});
