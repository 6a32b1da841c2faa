/** Adagrad (torch.optim.Adagrad): per-element rates shrinking with the sum of squared gradients. */
import { Uniforms } from '../backend/webgpu/uniforms';
import type { Tensor } from '../tensor';
import { check, Optimizer, type BaseHyperParams, type OptimizerOptions, type ParamGroup, type ParamGroupSpec } from './optimizer';

export interface AdagradOptions extends BaseHyperParams {
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
}

/** PyTorch's defaults. */
export const ADAGRAD_DEFAULTS: AdagradOptions = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 };

export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Tensor[] | ParamGroupSpec<AdagradOptions>[], options: Partial<AdagradOptions> & OptimizerOptions = {}) {
    super('Adagrad', params, options, ADAGRAD_DEFAULTS);
  }

  protected validate(hp: AdagradOptions): void {
    check(typeof hp.lr === 'function' || hp.lr >= 0, 'Adagrad', `invalid learning rate ${hp.lr}`);
    check(hp.lrDecay >= 0, 'Adagrad', `invalid lrDecay ${hp.lrDecay}`);
    check(hp.weightDecay >= 0, 'Adagrad', `invalid weightDecay ${hp.weightDecay}`);
    check(hp.initialAccumulatorValue >= 0, 'Adagrad', `invalid initialAccumulatorValue ${hp.initialAccumulatorValue}`);
    check(hp.eps >= 0, 'Adagrad', `invalid eps ${hp.eps}`);
  }

  private clr(g: ParamGroup<AdagradOptions>, lr: number): number {
    return lr / (1 + (g.step - 1) * g.hp.lrDecay);
  }

  protected fusedUpdate(g: ParamGroup<AdagradOptions>, lr: number, clip: boolean) {
    return {
      shader: 'optim/adagrad',
      defines: { CLIP: clip },
      uniforms: new Uniforms().u32(g.arena.size).f32(this.clr(g, lr)).f32(g.hp.eps).f32(g.hp.weightDecay),
      state: [g.arena.state('sum', g.hp.initialAccumulatorValue)],
    };
  }

  // d = g + λw;  sum = sum + d²;  w = w − lr/(1 + (t − 1)·lrDecay) · d / (sqrt(sum) + eps)
  protected reference(g: ParamGroup<AdagradOptions>, lr: number, grad: Tensor): void {
    const w = g.arena.values;
    const d = g.hp.weightDecay !== 0 ? grad.add(w.mul(g.hp.weightDecay)) : grad;
    const sum = g.arena.state('sum', g.hp.initialAccumulatorValue);
    sum.assign(sum.add(d.square()));
    w.assign(w.sub(d.div(sum.sqrt().add(g.hp.eps)).mul(this.clr(g, lr))));
  }
}
