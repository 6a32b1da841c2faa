// Deno smoke test of the BUILT package (dist/webtrain.js), run by test/deno.test.ts:
//   deno run --unstable-webgpu --allow-read --allow-env test/deno/smoke.ts
// Prints one JSON line `{"smoke": {...}}` and exits; the vitest side asserts on it.
//
// Deno's WebGPU is wgpu (not Dawn), so this also catches kernels that only one implementation accepts.
import * as wt from '../../dist/webtrain.js';

// Shapes are not square so a transposed operand cannot pass by accident.
//   a = [[1, 2, 3], [4, 5, 6]]  (2×3)     b = [[1, -1], [0, 2], [3, 1]]  (3×2)
//   c = a @ b = [[10, 6], [22, 12]]
//   L = sum(c²) = 100 + 36 + 484 + 144 = 764
//   dL/dc = 2c = [[20, 12], [44, 24]]
//   dL/da = 2c @ bᵀ = [[8, 24, 72], [20, 48, 156]]
//   dL/db = aᵀ @ 2c = [[196, 108], [260, 144], [324, 180]]
const expected = {
  c: [10, 6, 22, 12],
  loss: 764,
  gradA: [8, 24, 72, 20, 48, 156],
  gradB: [196, 108, 260, 144, 324, 180],
};

const errors: string[] = [];
const out: Record<string, unknown> = {};
try {
  const adapter = await navigator.gpu?.requestAdapter();
  out.rawAdapter = adapter ? { found: true, description: adapter.info.description } : { found: false };

  await wt.init({ backend: 'webgpu' });
  const info = wt.backend();
  out.backend = { name: info.name, isFallback: info.isFallback };

  const a = wt.tensor([1, 2, 3, 4, 5, 6], [2, 3], { requiresGrad: true });
  const b = wt.tensor([1, -1, 0, 2, 3, 1], [3, 2], { requiresGrad: true });
  const c = a.matmul(b);
  const loss = c.square().sum();
  loss.backward();

  const got = {
    c: Array.from(await c.data()),
    loss: await loss.item(),
    gradA: Array.from(await a.grad!.data()),
    gradB: Array.from(await b.grad!.data()),
  };
  out.got = got;
  for (const key of Object.keys(expected) as (keyof typeof expected)[]) {
    const want = [expected[key]].flat();
    const have = [got[key]].flat();
    // Small integers: f32 matmul on any adapter gives them exactly; 1e-4 leaves room for a
    // fused multiply-add ordering difference and nothing more.
    const ok = want.length === have.length && want.every((w, i) => Math.abs(w - have[i]!) <= 1e-4 * Math.max(1, Math.abs(w)));
    if (!ok) errors.push(`${key}: expected ${JSON.stringify(want)}, got ${JSON.stringify(have)}`);
  }
  for (const t of [a, b, c, loss]) t.dispose();
} catch (e) {
  errors.push(e instanceof Error ? String(e.stack ?? e) : String(e));
} finally {
  // Releases the device; without it wgpu's poller can keep Deno alive.
  try {
    await wt.shutdown();
  } catch (e) {
    errors.push(`shutdown: ${e instanceof Error ? e.stack : e}`);
  }
}

console.log(JSON.stringify({ smoke: { ...out, errors } }));
