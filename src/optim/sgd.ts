/** Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (torch.optim.SGD). */
import { Uniforms } from '../backend/webgpu/uniforms';
import type { Tensor } from '../tensor';
import { check, Optimizer, type BaseHyperParams, type OptimizerOptions, type ParamGroup, type ParamGroupSpec } from './optimizer';

export interface SGDOptions extends BaseHyperParams {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

/** PyTorch's defaults. */
export const SGD_DEFAULTS: SGDOptions = { lr: 1e-3, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 };

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroupSpec<SGDOptions>[], options: Partial<SGDOptions> & OptimizerOptions = {}) {
    super('SGD', params, options, SGD_DEFAULTS);
  }

  protected validate(hp: SGDOptions): void {
    check(typeof hp.lr === 'function' || hp.lr >= 0, 'SGD', `invalid learning rate ${hp.lr}`);
    check(hp.momentum >= 0, 'SGD', `invalid momentum ${hp.momentum}`);
    check(hp.weightDecay >= 0, 'SGD', `invalid weightDecay ${hp.weightDecay}`);
    check(!hp.nesterov || (hp.momentum > 0 && hp.dampening === 0), 'SGD', 'Nesterov momentum requires a momentum and zero dampening');
  }

  protected fusedUpdate(g: ParamGroup<SGDOptions>, lr: number, clip: boolean) {
    const { momentum, dampening, nesterov, weightDecay } = g.hp;
    const first = !g.arena.stateNames().includes('momentum_buffer');
    const buf = momentum !== 0 ? g.arena.state('momentum_buffer') : undefined;
    return {
      shader: 'optim/sgd',
      defines: sgdDefines(momentum !== 0, nesterov, clip),
      uniforms: new Uniforms().u32(g.arena.size).u32(first ? 1 : 0).f32(lr).f32(momentum).f32(dampening).f32(weightDecay),
      state: [buf],
    };
  }

  // d = g + λw;  buf = d (first step) or μ·buf + (1 − τ)·d;  d = d + μ·buf (Nesterov) or buf;  w = w − lr·d
  protected reference(g: ParamGroup<SGDOptions>, lr: number, grad: Tensor): void {
    const { momentum, dampening, nesterov, weightDecay } = g.hp;
    const w = g.arena.values;
    let d = weightDecay !== 0 ? grad.add(w.mul(weightDecay)) : grad;
    if (momentum !== 0) {
      const first = !g.arena.stateNames().includes('momentum_buffer');
      const buf = g.arena.state('momentum_buffer');
      buf.assign(first ? d : buf.mul(momentum).add(d.mul(1 - dampening)));
      d = nesterov ? d.add(buf.mul(momentum)) : buf;
    }
    w.assign(w.sub(d.mul(lr)));
  }
}

export const sgdDefines = (MOMENTUM: boolean, NESTEROV: boolean, CLIP: boolean) => ({ MOMENTUM, NESTEROV, CLIP });
