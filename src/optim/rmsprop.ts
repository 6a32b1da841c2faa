/** RMSprop (torch.optim.RMSprop): Adagrad with a decaying average of squared gradients. */
import { Uniforms } from '../backend/webgpu/uniforms';
import type { Tensor } from '../tensor';
import { check, Optimizer, type BaseHyperParams, type OptimizerOptions, type ParamGroup, type ParamGroupSpec } from './optimizer';

export interface RMSpropOptions extends BaseHyperParams {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
}

/** PyTorch's defaults. */
export const RMSPROP_DEFAULTS: RMSpropOptions = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false };

export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Tensor[] | ParamGroupSpec<RMSpropOptions>[], options: Partial<RMSpropOptions> & OptimizerOptions = {}) {
    super('RMSprop', params, options, RMSPROP_DEFAULTS);
  }

  protected validate(hp: RMSpropOptions): void {
    check(typeof hp.lr === 'function' || hp.lr >= 0, 'RMSprop', `invalid learning rate ${hp.lr}`);
    check(hp.alpha >= 0, 'RMSprop', `invalid alpha ${hp.alpha}`);
    check(hp.eps >= 0, 'RMSprop', `invalid eps ${hp.eps}`);
    check(hp.weightDecay >= 0, 'RMSprop', `invalid weightDecay ${hp.weightDecay}`);
    check(hp.momentum >= 0, 'RMSprop', `invalid momentum ${hp.momentum}`);
  }

  protected fusedUpdate(g: ParamGroup<RMSpropOptions>, lr: number, clip: boolean) {
    const { alpha, eps, weightDecay, momentum, centered } = g.hp;
    return {
      shader: 'optim/rmsprop',
      defines: rmspropDefines(centered, momentum > 0, clip),
      uniforms: new Uniforms().u32(g.arena.size).f32(lr).f32(alpha).f32(eps).f32(weightDecay).f32(momentum),
      state: [g.arena.state('square_avg'), centered ? g.arena.state('grad_avg') : undefined,
        momentum > 0 ? g.arena.state('momentum_buffer') : undefined],
    };
  }

  // sq = α·sq + (1 − α)·d²;  avg = sqrt(sq − ga²) (centered) or sqrt(sq), + eps;  w = w − lr·d/avg (or via a momentum buffer)
  protected reference(g: ParamGroup<RMSpropOptions>, lr: number, grad: Tensor): void {
    const { alpha, eps, weightDecay, momentum, centered } = g.hp;
    const w = g.arena.values;
    const d = weightDecay !== 0 ? grad.add(w.mul(weightDecay)) : grad;
    const sq = g.arena.state('square_avg');
    sq.assign(sq.mul(alpha).add(d.square().mul(1 - alpha)));
    let avg: Tensor;
    if (centered) {
      const ga = g.arena.state('grad_avg');
      ga.assign(ga.add(d.sub(ga).mul(1 - alpha)));
      avg = sq.sub(ga.square()).sqrt().add(eps);
    } else avg = sq.sqrt().add(eps);
    if (momentum > 0) {
      const buf = g.arena.state('momentum_buffer');
      buf.assign(buf.mul(momentum).add(d.div(avg)));
      w.assign(w.sub(buf.mul(lr)));
    } else w.assign(w.sub(d.div(avg).mul(lr)));
  }
}

export const rmspropDefines = (CENTERED: boolean, MOMENTUM: boolean, CLIP: boolean) => ({ CENTERED, MOMENTUM, CLIP });
