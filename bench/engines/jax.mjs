// jax-js (`@jax-js/jax`) on its WebGPU device as benchmark engines (bench/harness.mjs has the contract):
// 'jax' runs the training step as jax-js is meant to be used, the whole step (valueAndGrad + the Adam
// update) under `jit`; 'jax-eager' runs the same step op by op. `@jax-js/optax` is not on the npm
// registry this project installs from, so Adam is written out here with jax-js ops: optax.adam's
// update, m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², p -= lr·m̂ / (√v̂ + ε), m̂ = m/(1-β1^t), v̂ = v/(1-β2^t).
//
// jax-js arrays are reference counted and every function consumes its arguments (`.ref` keeps one),
// and its execution is lazy: nothing is dispatched until a result is read or awaited. So a handle
// keeps each iteration's results and sync() awaits them all (jax.blockUntilReady), which dispatches
// the iterations' work and waits for it; the harness counts dispatches made inside sync() too.
import { describeAdapter, MLP_SIZES, randomLabels } from '../harness.mjs';

const [BETA1, BETA2, EPS, LR] = [0.9, 0.999, 1e-8, 1e-3];

export function jaxEngines(loadJax) {
  let jax = null;
  let np = null;
  let ready = null;
  const init = async () => {
    ready ??= (async () => {
      jax = await loadJax();
      np = jax.numpy;
      const devices = await jax.init('webgpu');
      if (!devices.includes('webgpu')) throw new Error(`jax-js: no webgpu device (got ${devices.join(', ')})`);
      jax.defaultDevice('webgpu');
    })();
    await ready;
    const d = describeAdapter(jax.getWebGPUDevice?.()?.adapterInfo ?? {});
    return { ...d, backend: 'webgpu', description: `${d.description} (jax-js)` };
  };

  /** Adam on a pytree of parameters: returns [params, m, v]; consumes every argument. */
  const adamUpdate = (params, grads, m, v, bc1, bc2) => {
    const { tree } = jax;
    const [gLeaves, gDef] = tree.flatten(grads);
    const pLeaves = tree.leaves(params), mLeaves = tree.leaves(m), vLeaves = tree.leaves(v);
    const out = { p: [], m: [], v: [] };
    gLeaves.forEach((g, i) => {
      const m1 = mLeaves[i].mul(BETA1).add(g.ref.mul(1 - BETA1));
      const v1 = vLeaves[i].mul(BETA2).add(g.ref.mul(g).mul(1 - BETA2));
      const step = m1.ref.div(bc1.ref).div(np.sqrt(v1.ref.div(bc2.ref)).add(EPS)).mul(LR);
      out.p.push(pLeaves[i].sub(step));
      out.m.push(m1);
      out.v.push(v1);
    });
    bc1.dispose(); bc2.dispose();
    return [tree.unflatten(gDef, out.p), tree.unflatten(gDef, out.m), tree.unflatten(gDef, out.v)];
  };

  // The same MLP and data as the other engines: He-normal weights, zero biases, seeded labels.
  const mlpStep = (jitted) => (batch, sizes = MLP_SIZES) => {
    const { random, nn, tree, valueAndGrad } = jax;
    const x = random.normal(random.key(3), [batch, sizes[0]]);
    const yOneHot = nn.oneHot(np.array(randomLabels(batch, sizes.at(-1), 4), { dtype: np.int32 }), sizes.at(-1));
    let params = { w: [], b: [] };
    for (let i = 1; i < sizes.length; i++) {
      params.w.push(random.normal(random.key(10 + i), [sizes[i - 1], sizes[i]]).mul(Math.sqrt(2 / sizes[i - 1])));
      params.b.push(np.zeros([sizes[i]]));
    }
    let m = tree.map((p) => np.zerosLike(p.ref), params);
    let v = tree.map((p) => np.zerosLike(p.ref), params);
    const lossFn = (p, xb, yb) => {
      let h = xb;
      for (let i = 0; i < p.w.length; i++) {
        h = np.matmul(h, p.w[i]).add(p.b[i]);
        if (i + 1 < p.w.length) h = nn.relu(h);
      }
      return nn.logSoftmax(h, -1).mul(yb).sum().mul(-1 / batch); // mean softmax cross-entropy
    };
    const step = (p, mm, vv, xb, yb, bc1, bc2) => {
      const [loss, grads] = valueAndGrad(lossFn)(tree.ref(p), xb, yb);
      const [p1, m1, v1] = adamUpdate(p, grads, mm, vv, bc1, bc2);
      return [loss, p1, m1, v1];
    };
    const run = jitted ? jax.jit(step) : step;
    let t = 0;
    let losses = [];
    return {
      run() {
        t++;
        const bc1 = np.array(1 - BETA1 ** t), bc2 = np.array(1 - BETA2 ** t);
        const [loss, p1, m1, v1] = run(params, m, v, x.ref, yOneHot.ref, bc1, bc2);
        [params, m, v] = [p1, m1, v1];
        losses.push(loss);
      },
      async sync() {
        await jax.blockUntilReady([losses, params, m, v]);
        for (const l of losses) l.dispose();
        losses = [];
      },
      dispose() { for (const l of losses) l.dispose(); tree.dispose([params, m, v]); x.dispose(); yOneHot.dispose(); run.dispose?.(); },
    };
  };

  const common = {
    async shutdown() {},
  };
  const jit = {
    ...common,
    name: 'jax',
    label: 'jax-js jit',
    init,
    matmul(n) {
      const { random } = jax;
      const a = random.normal(random.key(1), [n, n]);
      const b = random.normal(random.key(2), [n, n]);
      let outs = [];
      return {
        run() { outs.push(np.matmul(a.ref, b.ref)); },
        async sync() { await jax.blockUntilReady(outs); for (const c of outs) c.dispose(); outs = []; },
        dispose() { for (const c of outs) c.dispose(); a.dispose(); b.dispose(); },
      };
    },
    mlpStep: mlpStep(true),
    // The Adam update alone under jit, over 4 arrays with fixed gradients (ones).
    optimizerStep(count) {
      const { random, tree } = jax;
      let params = [0, 1, 2, 3].map((i) => random.normal(random.key(20 + i), [count / 4]));
      const grads = params.map((p) => np.onesLike(p.ref));
      let m = params.map((p) => np.zerosLike(p.ref));
      let v = params.map((p) => np.zerosLike(p.ref));
      const update = jax.jit(adamUpdate);
      let t = 0;
      return {
        run() {
          t++;
          [params, m, v] = update(params, tree.ref(grads), m, v, np.array(1 - BETA1 ** t), np.array(1 - BETA2 ** t));
        },
        sync: () => jax.blockUntilReady([params, m, v]),
        dispose() { tree.dispose([params, grads, m, v]); update.dispose?.(); },
      };
    },
  };
  const eager = { ...common, name: 'jax-eager', label: 'jax-js eager', init, mlpStep: mlpStep(false) };
  return [jit, eager];
}
