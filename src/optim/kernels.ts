/** Every optimizer kernel variant (the shader test compiles each). */
import type { ShaderVariant } from '../ops/op-def';
import { adamDefines } from './adam';
import { rmspropDefines } from './rmsprop';
import { sgdDefines } from './sgd';

const bools = [false, true];
const each = <T>(f: (a: boolean, b: boolean, c: boolean) => T): T[] =>
  bools.flatMap((a) => bools.flatMap((b) => bools.map((c) => f(a, b, c))));

export const OPTIMIZER_SHADER_VARIANTS: ShaderVariant[] = [
  ...each((m, n, c) => ({ shader: 'optim/sgd', defines: sgdDefines(m, n, c) })),
  ...each((d, a, c) => ({ shader: 'optim/adam', defines: adamDefines(d, a, c) })),
  ...each((ce, m, c) => ({ shader: 'optim/rmsprop', defines: rmspropDefines(ce, m, c) })),
  ...bools.map((CLIP) => ({ shader: 'optim/adagrad', defines: { CLIP } })),
];
