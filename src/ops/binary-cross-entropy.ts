/**
 * Elementwise binary cross-entropy of probabilities, PyTorch's `F.binary_cross_entropy(p, y,
 * reduction='none')`: loss = -(y log p + (1 - y) log(1 - p)) with each log clamped at -100, so
 * p = 0 or 1 gives a finite loss. An op rather than a composition of log/maximum because PyTorch's
 * gradient, (p - y) / max(p (1 - p), 1e-12), is finite at p = 0 and 1 (a saturated sigmoid gives
 * exactly 1.0 in f32), where the composition's chain rule gives 0 / 0.
 * Inputs outside [0, 1]: the CPU throws (as PyTorch); the GPU gives NaN for them.
 */
import { fail } from '../errors';
import { binary } from './elementwise';

/** Per-element -(y log p + (1 - y) log(1 - p)), logs clamped at -100; inputs p, y (broadcast). */
export const binaryCrossEntropy = binary({
  name: 'binaryCrossEntropy',
  // NaN outside [0, 1] from bits that involve the (zero) uniform alpha: a constant NaN is a WGSL compile error.
  wgsl: 'select((b - 1.0) * select(max(log1pSafe(-a), -100.0), -100.0, a >= 1.0) - b * select(max(log(a), -100.0), -100.0, a <= 0.0), ' +
    'bitcast<f32>(0x7fc00000u | u32(alpha)), a < 0.0 || a > 1.0)',
  cpu: (p, y) => {
    if (!(p >= 0 && p <= 1)) fail('binaryCrossEntropy', `all elements of input should be between 0 and 1, got ${p}`);
    return (y - 1) * Math.max(Math.log1p(-p), -100) - y * Math.max(Math.log(p), -100);
  },
  // d/dp = (p - y) / max(p (1 - p), 1e-12) (PyTorch's clamp); d/dy = log(1 - p) - log(p) = -logit(p), unclamped as PyTorch.
  vjp: ({ a, b }, gy) => [
    gy.mul(a.sub(b)).div(a.neg().add(1).mul(a).maximum(1e-12)),
    gy.mul(a.neg().add(1).log().sub(a.log())),
  ],
  save: 'inputs',
  samples: [
    { inputs: [{ shape: [3, 4], range: [0.05, 0.95] }, { shape: [3, 4], range: [0, 1] }] },
    { inputs: [{ shape: [2, 3], range: [0.05, 0.95] }, { shape: [3], range: [0, 1] }], note: 'broadcast target' },
    { inputs: [{ shape: [6], values: [0, 1, 1, 0, 0.5, 1e-30] }, { shape: [6], values: [0, 1, 0, 1, 1, 1] }],
      noGrad: true, note: 'log clamped at -100' },
  ],
});
