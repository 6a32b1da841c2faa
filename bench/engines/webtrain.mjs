// webtrain as a benchmark engine (see bench/harness.mjs for the engine contract). `wt` is the library
// module: dist/webtrain.js in Node, src/index.ts through vite in Chromium.
import { describeAdapter, MLP_SIZES, randomLabels } from '../harness.mjs';

export function webtrainEngine(wt, { backend = 'webgpu' } = {}) {
  return {
    name: 'webtrain',
    label: 'webtrain',
    async init() {
      const info = await wt.init({ backend });
      if (info.name === 'cpu') return { description: 'CPU backend (JavaScript)', software: true, device: 'cpu', backend: 'cpu' };
      return { ...describeAdapter(info.adapter ?? {}), software: info.isFallback, backend: info.name };
    },
    matmul(n) {
      const a = wt.randn([n, n], { seed: 1 });
      const b = wt.randn([n, n], { seed: 2 });
      let c = null;
      return {
        run() { c?.dispose(); c = a.matmul(b); },
        sync: () => readOne(wt, c),
        dispose() { c?.dispose(); a.dispose(); b.dispose(); },
      };
    },
    // wt.nn.mlp (Linear + ReLU fused in the matmul kernel), the fused softmax cross-entropy, and Adam
    // (lr 1e-3) as ONE fused kernel over the parameter arena; zeroGrad is one buffer clear.
    mlpStep(batch, sizes = MLP_SIZES) {
      const x = wt.randn([batch, sizes[0]], { seed: 3 });
      const y = wt.tensor(randomLabels(batch, sizes.at(-1), 4), [batch], { dtype: 'i32' });
      const model = wt.nn.mlp({ sizes, activation: 'relu', seed: 10 });
      const optimizer = new wt.optim.Adam(model.parameters(), { lr: 1e-3 });
      let loss = null;
      return {
        run() {
          loss?.dispose();
          optimizer.zeroGrad();
          loss = wt.tidy(() => wt.nn.functional.crossEntropy(model.forward(x), y));
          loss.backward();
          optimizer.step();
        },
        sync: () => readOne(wt, loss),
        dispose() { loss?.dispose(); optimizer.dispose(); model.dispose(); x.dispose(); y.dispose(); },
      };
    },
    // The same step, its forward and backward captured once by wt.captureStep and replayed: no
    // JavaScript ops per step, only the recorded dispatches; Adam's update runs as usual after.
    mlpStepCaptured(batch, sizes = MLP_SIZES) {
      const x = wt.randn([batch, sizes[0]], { seed: 3 });
      const y = wt.tensor(randomLabels(batch, sizes.at(-1), 4), [batch], { dtype: 'i32' });
      const model = wt.nn.mlp({ sizes, activation: 'relu', seed: 10 });
      const optimizer = new wt.optim.Adam(model.parameters(), { lr: 1e-3 });
      const step = wt.captureStep(() => {
        optimizer.zeroGrad();
        const loss = wt.tidy(() => wt.nn.functional.crossEntropy(model.forward(x), y));
        loss.backward();
        return loss;
      });
      optimizer.step();
      return {
        run() {
          step.run();
          optimizer.step();
        },
        sync: () => readOne(wt, step.result),
        dispose() { step.dispose(); step.result.dispose(); optimizer.dispose(); model.dispose(); x.dispose(); y.dispose(); },
      };
    },
    // Adam over `count` parameters in 4 tensors with fixed gradients (ones, from one backward of a
    // sum): only optimizer.step() is timed.
    optimizerStep(count) {
      const params = [0, 1, 2, 3].map((i) => wt.randn([count / 4], { seed: 20 + i, requiresGrad: true }));
      const optimizer = new wt.optim.Adam(params, { lr: 1e-3 });
      wt.tidy(() => params.reduce((s, p) => s.add(p.sum()), wt.zeros([]))).backward();
      return {
        run() { optimizer.step(); },
        sync: () => readOne(wt, params[3]),
        dispose() { optimizer.dispose(); for (const p of params) p.dispose(); },
      };
    },
    // wt.nn.functional.conv2d (NCHW, 3x3 to 32 channels, padding 1, bias) and backward with a fixed
    // upstream gradient: the input, weight and bias gradients (conv2dBackwardInput,
    // conv2dBackwardWeight and a sum), dropped after each iteration.
    conv2dStep([n, c, h, w], outC = 32) {
      const x = wt.randn([n, c, h, w], { seed: 30, requiresGrad: true });
      const weight = wt.randn([outC, c, 3, 3], { seed: 31, std: Math.sqrt(2 / (c * 9)), requiresGrad: true });
      const bias = wt.zeros([outC], { requiresGrad: true });
      const gy = wt.randn([n, outC, h, w], { seed: 32 });
      const inputs = [x, weight, bias];
      return {
        run() {
          for (const t of inputs) t.grad = null;
          const y = wt.nn.functional.conv2d(x, weight, bias, { padding: 1 });
          y.backward(gy);
          y.dispose();
        },
        sync: () => readOne(wt, x.grad),
        dispose() { for (const t of [...inputs, gy]) { t.grad = null; t.dispose(); } },
      };
    },
    memory: () => wt.memory(),
    releasePooled: () => wt.emptyCache(),
    shutdown: () => wt.shutdown(),
  };
}

/** Awaits a 1-element read of t: the forced sync (submits pending work and waits for it). */
async function readOne(wt, t) {
  const one = wt.tidy(() => t.reshape([t.size]).slice([0], [1]));
  await one.data();
  one.dispose();
}
