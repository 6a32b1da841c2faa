// TensorFlow.js with its WebGPU backend as a benchmark engine (bench/harness.mjs has the contract).
// `loadTf()` returns the tf namespace with the WebGPU backend registered and gradients imported
// (`@tensorflow/tfjs-core/dist/register_all_gradients`; see bench/tfjs-entry.mjs). Default TF.js
// flags (it submits every WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE = 15 dispatches), as a user gets it.
import { describeAdapter, MLP_SIZES, randomLabels } from '../harness.mjs';

export function tfjsEngine(loadTf) {
  let tf = null;
  return {
    name: 'tfjs',
    label: 'TF.js',
    async init() {
      tf = await loadTf();
      if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js: the webgpu backend did not initialize');
      await tf.ready();
      const a = describeAdapter(tf.backend().adapterInfo ?? {});
      return { ...a, description: `${a.description} (TF.js ${tf.version_core})`, backend: 'webgpu' };
    },
    matmul(n) {
      const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
      const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
      let c = null;
      return {
        run() { c?.dispose(); c = tf.matMul(a, b); },
        sync: () => readOne(tf, c),
        dispose() { c?.dispose(); a.dispose(); b.dispose(); },
      };
    },
    // TF.js's layers-free API: variables (He-normal weights, zero biases), matMul + add + relu,
    // tf.losses.softmaxCrossEntropy on one-hot labels (mean over the batch), tf.train.adam(1e-3).minimize.
    mlpStep(batch, sizes = MLP_SIZES) {
      const x = tf.randomNormal([batch, sizes[0]], 0, 1, 'float32', 3);
      const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(randomLabels(batch, sizes.at(-1), 4), 'int32'), sizes.at(-1)), 'float32'));
      const params = [];
      for (let i = 1; i < sizes.length; i++) {
        params.push(tf.variable(tf.randomNormal([sizes[i - 1], sizes[i]], 0, Math.sqrt(2 / sizes[i - 1]), 'float32', 10 + i)));
        params.push(tf.variable(tf.zeros([sizes[i]])));
      }
      const forward = () => {
        let h = x;
        for (let i = 0; i < params.length; i += 2) {
          h = tf.add(tf.matMul(h, params[i]), params[i + 1]);
          if (i + 2 < params.length) h = tf.relu(h);
        }
        return tf.losses.softmaxCrossEntropy(y, h);
      };
      const optimizer = tf.train.adam(1e-3);
      let loss = null;
      return {
        run() { loss?.dispose(); loss = optimizer.minimize(forward, true, params); },
        sync: () => readOne(tf, loss),
        dispose() { loss?.dispose(); optimizer.dispose(); for (const p of params) p.dispose(); x.dispose(); y.dispose(); },
      };
    },
    // tf.train.adam's applyGradients over 4 variables with fixed gradients (ones).
    optimizerStep(count) {
      const vars = [0, 1, 2, 3].map((i) => tf.variable(tf.randomNormal([count / 4], 0, 1, 'float32', 20 + i), true, `bench_p${i}`));
      const grads = Object.fromEntries(vars.map((v) => [v.name, tf.onesLike(v)]));
      const optimizer = tf.train.adam(1e-3);
      return {
        run() { optimizer.applyGradients(grads); },
        sync: () => readOne(tf, vars[3]),
        dispose() { optimizer.dispose(); for (const v of vars) v.dispose(); for (const g of Object.values(grads)) g.dispose(); },
      };
    },
    // tf.conv2d in its native NHWC layout (the same flops as webtrain's NCHW case), 'same' padding,
    // plus bias, differentiated by tf.grads with a fixed upstream gradient: input, filter and bias gradients.
    conv2dStep([n, c, h, w], outC = 32) {
      const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 30);
      const filter = tf.randomNormal([3, 3, c, outC], 0, Math.sqrt(2 / (c * 9)), 'float32', 31);
      const bias = tf.zeros([outC]);
      const dy = tf.randomNormal([n, h, w, outC], 0, 1, 'float32', 32);
      const grads = tf.grads((xi, fi, bi) => tf.add(tf.conv2d(xi, fi, 1, 'same'), bi));
      let out = null;
      return {
        run() { out?.forEach((t) => t.dispose()); out = grads([x, filter, bias], dy); },
        sync: () => readOne(tf, out[0]),
        dispose() { out?.forEach((t) => t.dispose()); for (const t of [x, filter, bias, dy]) t.dispose(); },
      };
    },
    memory() { const m = tf.memory(); return { numTensors: m.numTensors, numBytes: m.numBytes, numBytesInGPU: m.numBytesInGPU }; },
    // TF.js has no public call for this: destroy the buffers on its buffer manager's free lists
    // (keeping the lists, which its releaseBuffer expects to exist). Everything is synced by then.
    releasePooled() {
      const manager = tf.backend().bufferManager;
      for (const list of manager?.freeBuffers?.values() ?? []) {
        for (const b of list) b.destroy();
        list.length = 0;
      }
      if (manager) manager.numFreeBuffers = 0;
    },
    shutdown() { tf.engine().reset(); },
  };
}

async function readOne(tf, t) {
  const one = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), [0], [1]));
  await one.data();
  one.dispose();
}
