import { afterAll, expect, test } from 'vitest';
import * as wt from '../src/index';

afterAll(() => wt.shutdown());

test('smoke', async () => {
  const info = await wt.init({ backend: 'webgpu' });
  console.log(info.name, info.adapter, info.isFallback);
  for (const backend of ['cpu', 'webgpu'] as const) {
    const x = wt.tensor([[1, 2], [3, 4]], undefined, { backend, requiresGrad: true });
    const y = x.matmul(x).tanh().sum();
    y.backward();
    console.log(backend, await y.item(), await x.grad!.array());
    const s = wt.tensor([1, 2, 3], undefined, { backend }).softmax(0);
    console.log(await s.array(), await wt.randn([4], { seed: 1, backend }).array());
  }
  expect(1).toBe(1);
});
