// Trains a tiny MLP (2 → 32 → 32 → 2) on two interleaved spirals with raw webtrain ops, on the
// best backend (WebGPU when an adapter exists, else the CPU), and prints the device and the loss.
// Run: npm run example   (or, after `npm run build`: node demo/tiny-mlp.mjs [--cpu])
import * as wt from '../dist/webtrain.js';

const info = await wt.init({ backend: process.argv.includes('--cpu') ? 'cpu' : 'auto' });
const adapter = info.adapter ? `${info.adapter.description ?? info.adapter.vendor ?? 'unknown adapter'}` : 'JavaScript';
console.log(`device: ${info.name} (${adapter}${info.isFallback ? ', software fallback' : ''})`);

// Two spirals, 128 points each, labels 0 and 1.
const n = 128;
const points = [];
const labels = [];
for (let c = 0; c < 2; c++) {
  for (let i = 0; i < n; i++) {
    const r = (i / n) * 2.5 + 0.2;
    const t = (i / n) * 3 * Math.PI + c * Math.PI;
    points.push(r * Math.cos(t), r * Math.sin(t));
    labels.push(c);
  }
}
const x = wt.tensor(points, [2 * n, 2]);
const y = wt.tensor(labels, [2 * n, 1], { dtype: 'i32' });

// Glorot-uniform weights (b = sqrt(6 / (fan_in + fan_out))), zero biases.
const layer = (fanIn, fanOut, seed) => {
  const b = Math.sqrt(6 / (fanIn + fanOut));
  return [wt.rand([fanIn, fanOut], { seed, low: -b, high: b, requiresGrad: true }), wt.zeros([fanOut], { requiresGrad: true })];
};
const params = [...layer(2, 32, 1), ...layer(32, 32, 2), ...layer(32, 2, 3)];
const [w1, b1, w2, b2, w3, b3] = params;
// Adam's moment estimates, one pair per parameter.
const m = params.map((p) => wt.zeros([...p.shape]));
const v = params.map((p) => wt.zeros([...p.shape]));

const lossOf = () => wt.tidy(() => {
  const h1 = x.matmul(w1).add(b1).tanh();
  const h2 = h1.matmul(w2).add(b2).tanh();
  const logits = h2.matmul(w3).add(b3);
  // Cross-entropy: mean of -log softmax at the label.
  return logits.logSoftmax(-1).gather(1, y).mean().neg();
});

// Adam (Kingma & Ba): full-batch SGD with momentum on spirals is chaotic (loss spikes whose timing
// moves with the last bits of f32 rounding); Adam converges on every backend.
const [lr, beta1, beta2, eps] = [0.02, 0.9, 0.999, 1e-8];
const steps = 250;
let first;
for (let step = 1; step <= steps; step++) {
  const loss = lossOf();
  loss.backward();
  // Adam, outside the tape: m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², p -= αt·m / (√v + ε), with
  // the bias corrections folded into the step size, αt = lr·√(1-β2^t) / (1-β1^t) (the Adam paper's
  // efficient form). αt changes every step, so it is a tensor freed by tidy, not a cached constant.
  wt.noGrad(() => wt.tidy(() => {
    const stepSize = wt.tensor(lr * Math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step));
    params.forEach((p, i) => {
      m[i].assign(m[i].mul(beta1).add(p.grad.mul(1 - beta1)));
      v[i].assign(v[i].mul(beta2).add(p.grad.square().mul(1 - beta2)));
      p.assign(p.sub(m[i].div(v[i].sqrt().add(eps)).mul(stepSize)));
      p.grad = null;
    });
  }));
  if (step === 1 || step % 25 === 0) {
    const value = await loss.item(); // the only read back: every 25 steps
    first ??= value;
    console.log(`step ${String(step).padStart(3)}  loss ${value.toFixed(4)}`);
  }
  loss.dispose();
}

const accuracy = await wt.tidy(() => {
  const h1 = x.matmul(w1).add(b1).tanh();
  const logits = h1.matmul(w2).add(b2).tanh().matmul(w3).add(b3);
  return logits.argmax(-1).reshape([2 * n, 1]).eq(y).cast('f32').mean();
}).item();
console.log(`train accuracy ${(accuracy * 100).toFixed(1)}%`);
const mem = wt.memory();
console.log(`memory: ${mem.numTensors} tensors, ${mem.numBytes} bytes live, ${mem.pooledBytes} bytes pooled`);
wt.shutdown(); // releases the GPU device so Node can exit
