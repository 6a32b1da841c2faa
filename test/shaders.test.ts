/**
 * Every (shader, defines) variant the op registry declares is preprocessed and parsed (wgsl_reflect,
 * no GPU needed) and, where WebGPU exists, compiled by the device's shader compiler. A broken
 * branch of a kernel fails here rather than in a user's run.
 */
import { afterAll, expect, test } from 'vitest';
// The package's main entry is CommonJS under "type": "module"; its ES module build works.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import * as wt from '../src/index';
import { OPS } from '../src/ops/registry';
import { OPTIMIZER_SHADER_VARIANTS } from '../src/optim/kernels';
import { ACCUMULATE, PACK_VARIANTS, copyVariants } from '../src/ops/movement';
import { NUMERICS_SHADER_VARIANT } from '../src/debug';
import { SHADER_SOURCES } from '../src/backend/webgpu/shader-sources';
import { DefinesMap, preprocess } from '../src/backend/webgpu/shader-loader';
import { KeyTrie } from '../src/backend/webgpu/key-trie';
import { getBackend } from '../src/runtime';
import type { WebGPUBackend } from '../src/backend/webgpu/webgpu-backend';
import { availableBackends } from './setup-backends';

const backends = await availableBackends();
afterAll(() => wt.shutdown());

// Op kernels, plus the kernels that are not ops: optimizer updates, gradient accumulation, and
// wt.debug.checkNumerics' NaN/Inf count.
const variants = [
  ...Object.entries(OPS).flatMap(([op, def]) => def.shaderVariants.map((v) => ({ op, ...v }))),
  ...OPTIMIZER_SHADER_VARIANTS.map((v) => ({ op: 'optimizer', ...v })),
  ...copyVariants(ACCUMULATE).map((v) => ({ op: 'accumulate', ...v })),
  ...PACK_VARIANTS.map((v) => ({ op: 'packInto', ...v })),
  { op: 'checkNumerics', ...NUMERICS_SHADER_VARIANT },
];
const kernels = Object.keys(SHADER_SOURCES).filter((n) => !n.startsWith('common/'));

test('every kernel file is used by some op or the runtime', () => {
  expect(new Set(variants.map((v) => v.shader))).toEqual(new Set(kernels));
});

test.each([...Object.keys(OPS), 'optimizer', 'accumulate', 'packInto', 'checkNumerics'])('%s: every shader variant preprocesses and parses', (op) => {
  for (const v of variants.filter((x) => x.op === op)) {
    const code = preprocess(v.shader, SHADER_SOURCES[v.shader], v.defines);
    expect(code).not.toMatch(/#(if|elif|else|endif)|\{\{/);
    const entries = new WgslReflect(code).entry.compute.map((f) => f.name);
    expect(entries, `${v.shader} ${JSON.stringify(v.defines)}`).toEqual(['main']);
  }
});

test.runIf(backends.includes('webgpu'))('every shader variant compiles on the WebGPU device', async () => {
  const { device } = getBackend('webgpu') as WebGPUBackend;
  const errors: string[] = [];
  // Kernels that use subgroups compile only on a device with the feature.
  const usesSubgroups = ({ defines }: { defines: Record<string, unknown> }) => Boolean(defines.SUBGROUP || defines.SUBGROUPS);
  for (const v of variants.filter((x) => !usesSubgroups(x) || device.features.has('subgroups'))) {
    const code = preprocess(v.shader, SHADER_SOURCES[v.shader], v.defines);
    const info = await device.createShaderModule({ code }).getCompilationInfo();
    for (const m of info.messages) {
      if (m.type === 'error') errors.push(`${v.op}: ${v.shader} ${JSON.stringify(v.defines)}: line ${m.lineNum}: ${m.message}`);
    }
  }
  expect(errors).toEqual([]);
  expect(variants.length).toBeGreaterThan(100);
});

// The pipeline cache's key: (shader, defines) by names and values, without a key string.
test('DefinesMap tells defines apart by shader, name and value, and forgets deleted entries', () => {
  const m = new DefinesMap<number>();
  m.set('reduce', { T: 'f32', SUM: true, PER_THREAD: false }, 1);
  m.set('reduce', { T: 'f32', SUM: true, PER_THREAD: true }, 2);
  m.set('reduce', { T: 'f32', SUM: true }, 3);
  m.set('softmax', { T: 'f32', SUM: true, PER_THREAD: false }, 4);
  m.set('reduce', { T: 'i32', SUM: true, PER_THREAD: false }, 5);
  expect(m.get('reduce', { T: 'f32', SUM: true, PER_THREAD: false })).toBe(1);
  expect(m.get('reduce', { T: 'f32', SUM: true, PER_THREAD: true })).toBe(2);
  expect(m.get('reduce', { T: 'f32', SUM: true })).toBe(3);
  expect(m.get('softmax', { T: 'f32', SUM: true, PER_THREAD: false })).toBe(4);
  expect(m.get('reduce', { T: 'i32', SUM: true, PER_THREAD: false })).toBe(5);
  // Same values under other names, or a prefix of a stored entry's defines: not found.
  expect(m.get('reduce', { T: 'f32', MAX: true, PER_THREAD: false })).toBeUndefined();
  expect(m.get('reduce', { T: 'f32' })).toBeUndefined();
  expect(m.get('matmul', {})).toBeUndefined();
  m.delete('reduce', { T: 'f32', SUM: true, PER_THREAD: true });
  expect(m.get('reduce', { T: 'f32', SUM: true, PER_THREAD: true })).toBeUndefined();
  expect(m.get('reduce', { T: 'f32', SUM: true, PER_THREAD: false })).toBe(1);
});

// The bind-group cache's key: (pipeline, uniform buffer, then each binding's buffer and range).
test('KeyTrie keys objects by identity along the whole path, counts its values and clears', () => {
  const t = new KeyTrie<string>();
  const [a, b] = [{}, {}];
  t.from(true).key(a).key(0).key(256).set('a 0 256');
  t.from(true).key(a).key(0).key(512).set('a 0 512');
  t.from(true).key(b).key(0).key(256).set('b 0 256');
  t.from(true).key(a).key(0).key(256).set('a 0 256 again'); // overwrites: still 3 values
  expect(t.size).toBe(3);
  expect(t.from(false).key(a).key(0).key(256).get()).toBe('a 0 256 again');
  expect(t.from(false).key(b).key(0).key(512).get()).toBeUndefined();
  expect(t.from(false).key({}).key(0).key(256).get()).toBeUndefined(); // an equal object is another key
  expect(t.from(false).key(a).key(0).get()).toBeUndefined(); // a prefix holds no value
  expect(() => t.from(false).key(b).key(1).set('x')).toThrow(/from\(true\)/);
  t.from(false).key(b).key(0).key(256).delete();
  expect(t.size).toBe(2);
  t.clear();
  expect(t.size).toBe(0);
  expect(t.from(false).key(a).key(0).key(512).get()).toBeUndefined();
});
