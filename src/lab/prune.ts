/**
 * Pruning masks for the lottery-ticket experiments: a MaskedModel wraps a model with one {0, 1} mask
 * per weight (every parameter of rank ≥ 2: Linear weights, conv kernels; biases and norm scales are
 * never pruned), keeps the masks on the device, and saves them in checkpoints as extra state-dict
 * entries '<key>_mask' (PyTorch's torch.nn.utils.prune name: '0.weight' → '0.weight_mask').
 * maskedOptimizer wraps an optimizer so every step multiplies the gradients by the masks before the
 * update and the weights after it (one multiply per parameter group over its arena, no read back),
 * so pruned weights stay exactly zero whatever the optimizer's state or weight decay.
 * The mask criteria of Zhou et al. (and magnitude pruning) are host functions over weights read
 * back once per pruning round.
 */
import { WebtrainError, fmtShape } from '../errors';
import { ones, tensor } from '../create';
import { keep, tidy } from '../runtime';
import { noGrad } from '../session';
import type { Tensor } from '../tensor';
import { Module } from '../nn/module';
import type { Optimizer } from '../optim/optimizer';
import { Rng } from '../data/rng';

/**
 * A model with a {0, 1} mask per weight. forward() is the wrapped model's; parameters() are its
 * parameters; stateDict() is its state dict plus the masks as buffers '<key>_mask', so
 * `wt.io.save(path, {model: masked})` stores the masks with the weights and `wt.io.load(path,
 * {model: masked})` restores both. dispose() frees the masks only: the wrapped model stays the
 * caller's.
 */
export class MaskedModel extends Module {
  /** Mask per pruned parameter, by the parameter's state-dict key ('0.weight'); same shape, dtype and backend. */
  readonly masks: Map<string, Tensor>;
  /** Bumped whenever the masks' values change through this class (optimizer wrappers rebuild their flat masks). */
  version = 0;

  /**
   * `masks` (optional): initial values by parameter key (tensors are copied; missing weights get
   * ones). Without it every weight (rank ≥ 2 parameter) gets a mask of ones: the dense model.
   */
  constructor(readonly model: Module, masks?: Map<string, Tensor> | Record<string, Tensor>) {
    super();
    this.masks = new Map();
    const given = masks instanceof Map ? masks : new Map(Object.entries(masks ?? {}));
    const weights = prunableParameters(model);
    for (const k of given.keys()) {
      if (!weights.some(([name]) => name === k)) throw new WebtrainError(`MaskedModel: no prunable weight '${k}' (weights: ${weights.map(([n]) => n).join(', ')})`);
    }
    for (const [k, p] of weights) {
      const m = given.get(k);
      if (m && m.shape.join() !== p.shape.join()) throw new WebtrainError(`MaskedModel: mask '${k}' is ${fmtShape(m.shape)}, the weight ${fmtShape(p.shape)}`);
      this.masks.set(k, keep(noGrad(() => tidy(() => (m ? m.cast(p.dtype).add(0) : ones([...p.shape], { dtype: p.dtype, backend: p.backend.name }))))));
    }
  }

  forward(x: Tensor): Tensor {
    return this.model.forward(x);
  }

  override namedParameters(prefix = ''): [string, Tensor][] {
    return this.model.namedParameters(prefix);
  }

  override namedBuffers(prefix = ''): [string, Tensor][] {
    return [...this.model.namedBuffers(prefix), ...[...this.masks].map(([k, m]) => [`${prefix}${k}_mask`, m] as [string, Tensor])];
  }

  override namedChildren(): [string, Module][] {
    return this.model.namedChildren();
  }

  override modules(): Module[] {
    return [this, ...this.model.modules()];
  }

  /** The wrapped model's state dict, then the masks as '<key>_mask' (what checkpoints store). */
  override stateDict(prefix = ''): Map<string, Tensor> {
    const out = this.model.stateDict(prefix);
    for (const [k, m] of this.masks) out.set(`${prefix}${k}_mask`, m);
    return out;
  }

  override loadStateDict(dict: Map<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    super.loadStateDict(dict, opts);
    this.version++;
  }

  /** The masked weights as [key, parameter, mask]. */
  entries(): [string, Tensor, Tensor][] {
    const params = new Map(this.model.namedParameters());
    return [...this.masks].map(([k, m]) => [k, params.get(k)!, m]);
  }

  /** weights ← weights ⊙ masks, in place on the device. */
  apply(): void {
    noGrad(() => tidy(() => { for (const [, p, m] of this.entries()) p.assign(p.mul(m)); }));
  }

  /** Replaces the masks' values (host arrays or tensors by key; keys left out keep their mask), then applies them. */
  setMasks(values: Map<string, ArrayLike<number> | Tensor>): void {
    noGrad(() => tidy(() => {
      for (const [k, v] of values) {
        const m = this.masks.get(k);
        if (!m) throw new WebtrainError(`MaskedModel.setMasks: no mask '${k}' (masks: ${[...this.masks.keys()].join(', ')})`);
        if (isTensor(v)) m.assign(v.cast(m.dtype));
        else {
          if (v.length !== m.size) throw new WebtrainError(`MaskedModel.setMasks: mask '${k}' needs ${m.size} values, got ${v.length}`);
          m.assign(tensor(Float32Array.from(v), [...m.shape], { dtype: m.dtype, backend: m.backend.name }));
        }
      }
    }));
    this.version++;
    this.apply();
  }

  /** The masks read back to the host, by key. */
  async readMasks(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [k, m] of this.masks) out.set(k, Float32Array.from(await m.data()));
    return out;
  }

  /** Fraction of the masked weights that are kept (mask 1), over all masks together. */
  async density(): Promise<number> {
    let kept = 0;
    let total = 0;
    for (const m of (await this.readMasks()).values()) {
      for (const v of m) kept += v;
      total += m.length;
    }
    return total ? kept / total : 1;
  }

  /** Frees the masks (not the wrapped model). */
  override dispose(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

/**
 * `optimizer`, but each step() masks first: gradients ← gradients ⊙ masks, the optimizer's own
 * update, weights ← weights ⊙ masks. Each parameter group's masks are laid out as one flat tensor
 * over its arena (ones where a parameter has no mask), so masking costs two multiplies per group per
 * step, on the device. The wrapper shares the optimizer's state (it delegates everything else);
 * dispose() frees its flat masks and the optimizer. When `masked`'s masks change (setMasks, a
 * load), the flat masks are rebuilt at the next step.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any optimizer, whatever its hyper-parameters
export function maskedOptimizer<O extends Optimizer<any>>(optimizer: O, masked: MaskedModel): O {
  const byParam = new Map<Tensor, Tensor>(masked.entries().map(([, p, m]) => [p, m]));
  let flat: (Tensor | null)[] = [];
  let version = -1;
  const rebuild = () => {
    flat.forEach((f) => f?.dispose());
    flat = optimizer.paramGroups.map((g) => {
      if (!g.params.some((p) => byParam.has(p))) return null;
      return keep(noGrad(() => {
        const f = ones([g.arena.size], { dtype: g.arena.values.dtype, backend: g.arena.values.backend.name });
        g.params.forEach((p, i) => {
          const m = byParam.get(p);
          if (!m) return;
          const slot = g.arena.view(f, i);
          slot.assign(m);
          slot.dispose();
        });
        return f;
      }));
    });
    version = masked.version;
  };
  const wrapped = Object.create(optimizer) as O;
  wrapped.step = () => {
    if (version !== masked.version) rebuild();
    noGrad(() => tidy(() => optimizer.paramGroups.forEach((g, i) => { const f = flat[i]; if (f) g.arena.grads.assign(g.arena.grads.mul(f)); })));
    optimizer.step();
    noGrad(() => tidy(() => optimizer.paramGroups.forEach((g, i) => { const f = flat[i]; if (f) g.arena.values.assign(g.arena.values.mul(f)); })));
  };
  wrapped.dispose = () => {
    flat.forEach((f) => f?.dispose());
    flat = [];
    optimizer.dispose();
  };
  return wrapped;
}

/** The parameters pruning applies to: every parameter of rank ≥ 2 (weights), as [key, tensor]. */
export function prunableParameters(model: Module): [string, Tensor][] {
  return model.namedParameters().filter(([, p]) => p.rank >= 2);
}

/**
 * How a mask is chosen from a weight's initial and final values (Zhou, Lan, Liu, Yosinski,
 * "Deconstructing Lottery Tickets: Zeros, Signs, and the Supermask", NeurIPS 2019, fig. 2): keep the
 * weights with the highest score. large_final |w_f| (magnitude pruning, Frankle & Carbin),
 * small_final −|w_f|, large_init |w_i|, small_init −|w_i|, magnitude_increase |w_f| − |w_i|,
 * movement |w_f − w_i|, random.
 */
export const MASK_CRITERIA = ['large_final', 'small_final', 'large_init', 'small_init', 'magnitude_increase', 'movement', 'random'] as const;
/** One of MASK_CRITERIA. */
export type MaskCriterion = (typeof MASK_CRITERIA)[number];

/** The score of every weight under `criterion` (higher is kept). `rng` is used by 'random' only. */
export function criterionScores(criterion: MaskCriterion, init: ArrayLike<number>, final: ArrayLike<number>, rng: Rng): Float64Array {
  const n = final.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const wi = init[i];
    const wf = final[i];
    switch (criterion) {
      case 'large_final': out[i] = Math.abs(wf); break;
      case 'small_final': out[i] = -Math.abs(wf); break;
      case 'large_init': out[i] = Math.abs(wi); break;
      case 'small_init': out[i] = -Math.abs(wi); break;
      case 'magnitude_increase': out[i] = Math.abs(wf) - Math.abs(wi); break;
      case 'movement': out[i] = Math.abs(wf - wi); break;
      case 'random': out[i] = rng.uniform(); break;
      default: throw new WebtrainError(`lab: unknown mask criterion '${criterion as string}' (expected ${MASK_CRITERIA.join(', ')})`);
    }
  }
  return out;
}

/**
 * The next mask: of the weights `mask` keeps, the round(fraction · kept) with the lowest scores are
 * removed (ties: the earlier index goes first). Weights already pruned stay pruned.
 */
export function pruneLowest(scores: ArrayLike<number>, mask: ArrayLike<number>, fraction: number): Float32Array {
  if (!(fraction >= 0 && fraction <= 1)) throw new WebtrainError(`lab: the pruning fraction must be in [0, 1], got ${fraction}`);
  const alive: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) alive.push(i);
  const remove = Math.round(fraction * alive.length);
  alive.sort((a, b) => scores[a] - scores[b] || a - b);
  const out = Float32Array.from(mask, (v) => (v !== 0 ? 1 : 0));
  for (let r = 0; r < remove; r++) out[alive[r]] = 0;
  return out;
}

/** A mask keeping `keep` weights of `n` at random positions (seeded). */
export function randomMask(n: number, keep: number, rng: Rng): Float32Array {
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  const out = new Float32Array(n);
  for (let r = 0; r < Math.min(keep, n); r++) out[idx[r]] = 1;
  return out;
}

/** A seeded permutation of `values` (the same distribution of values, at other positions). */
export function shuffled(values: ArrayLike<number>, rng: Rng): Float32Array {
  const out = Float32Array.from(values);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === 'object' && v !== null && typeof (v as Tensor).assign === 'function' && Array.isArray((v as Tensor).shape);
}
