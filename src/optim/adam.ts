/** Adam and AdamW (torch.optim.Adam, torch.optim.AdamW), with amsgrad. */
import { Uniforms } from '../backend/webgpu/uniforms';
import type { Tensor } from '../tensor';
import { check, Optimizer, type BaseHyperParams, type OptimizerOptions, type ParamGroup, type ParamGroupSpec } from './optimizer';

export interface AdamOptions extends BaseHyperParams {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

/** PyTorch's defaults (AdamW: weightDecay 1e-2). */
export const ADAM_DEFAULTS: AdamOptions = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false };

export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Tensor[] | ParamGroupSpec<AdamOptions>[], options: Partial<AdamOptions> & OptimizerOptions = {},
    /** AdamW: weight decay applied to the weights directly (w ← w·(1 − lr·λ)), not through the gradient. */
    protected readonly decoupled = false) {
    super(decoupled ? 'AdamW' : 'Adam', params, options, decoupled ? { ...ADAM_DEFAULTS, weightDecay: 1e-2 } : ADAM_DEFAULTS);
  }

  protected validate(hp: AdamOptions): void {
    const name = this.name; // set by the base constructor before validate() runs
    check(typeof hp.lr === 'function' || hp.lr >= 0, name, `invalid learning rate ${hp.lr}`);
    check(Array.isArray(hp.betas) && hp.betas.length === 2 && hp.betas.every((b) => b >= 0 && b < 1), name, `invalid betas ${JSON.stringify(hp.betas)} (each in [0, 1))`);
    check(hp.eps >= 0, name, `invalid eps ${hp.eps}`);
    check(hp.weightDecay >= 0, name, `invalid weightDecay ${hp.weightDecay}`);
  }

  protected fusedUpdate(g: ParamGroup<AdamOptions>, lr: number, clip: boolean) {
    const { betas: [b1, b2], eps, weightDecay, amsgrad } = g.hp;
    const t = g.step;
    return {
      shader: 'optim/adam',
      defines: adamDefines(this.decoupled, amsgrad, clip),
      uniforms: new Uniforms().u32(g.arena.size).f32(lr).f32(b1).f32(b2).f32(eps).f32(weightDecay)
        .f32(lr / (1 - b1 ** t)).f32(Math.sqrt(1 - b2 ** t)),
      state: [g.arena.state('exp_avg'), g.arena.state('exp_avg_sq'), amsgrad ? g.arena.state('max_exp_avg_sq') : undefined],
    };
  }

  // m = m + (1 − β1)(d − m);  v = β2·v + (1 − β2)·d²;  w = w − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + eps)
  protected reference(g: ParamGroup<AdamOptions>, lr: number, grad: Tensor): void {
    const { betas: [b1, b2], eps, weightDecay, amsgrad } = g.hp;
    const t = g.step;
    const w = g.arena.values;
    let d = grad;
    if (this.decoupled) w.assign(w.mul(1 - lr * weightDecay));
    else if (weightDecay !== 0) d = d.add(w.mul(weightDecay));
    const m = g.arena.state('exp_avg');
    const v = g.arena.state('exp_avg_sq');
    m.assign(m.add(d.sub(m).mul(1 - b1)));
    v.assign(v.mul(b2).add(d.square().mul(1 - b2)));
    let second = v;
    if (amsgrad) {
      second = g.arena.state('max_exp_avg_sq');
      second.assign(second.maximum(v));
    }
    const denom = second.sqrt().div(Math.sqrt(1 - b2 ** t)).add(eps);
    w.assign(w.sub(m.div(denom).mul(lr / (1 - b1 ** t))));
  }
}

/** AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), default weightDecay 1e-2. */
export class AdamW extends Adam {
  constructor(params: Tensor[] | ParamGroupSpec<AdamOptions>[], options: Partial<AdamOptions> & OptimizerOptions = {}) {
    super(params, options, true);
  }
}

export const adamDefines = (DECOUPLED: boolean, AMSGRAD: boolean, CLIP: boolean) => ({ DECOUPLED, AMSGRAD, CLIP });
