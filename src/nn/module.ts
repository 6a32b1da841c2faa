/**
 * Modules: trainable building blocks with parameters, buffers and child modules, in registration
 * order, and state dicts whose keys and layouts are PyTorch's ('0.weight', '1.running_mean'), so a
 * state dict moves between webtrain and PyTorch (through safetensors).
 */
import { WebtrainError, fmtShape } from '../errors';
import { keep } from '../runtime';
import { shapesEqual } from '../shape';
import type { Tensor } from '../tensor';

export abstract class Module {
  /** Train mode (batch statistics, dropout on) or eval mode. Set with train() / eval(). */
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly children_ = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /**
   * Registers a trainable parameter under `name` (its state dict key, PyTorch's name: 'weight',
   * 'bias'); it requires grad and is kept out of tidy scopes. Returns it.
   */
  protected addParameter(name: string, t: Tensor): Tensor {
    this.checkFree(name);
    t.requiresGrad = true;
    this.params.set(name, keep(t));
    return t;
  }

  /** Registers state that is saved but not trained ('running_mean', 'num_batches_tracked'). */
  protected addBuffer(name: string, t: Tensor): Tensor {
    this.checkFree(name);
    this.buffers.set(name, keep(t));
    return t;
  }

  protected addModule<M extends Module>(name: string, m: M): M {
    this.checkFree(name);
    this.children_.set(name, m);
    return m;
  }

  /** Replaces a registered buffer's tensor (running statistics are swapped in, not copied). */
  protected setBuffer(name: string, t: Tensor): void {
    const old = this.buffers.get(name);
    if (!old) throw new WebtrainError(`${this.constructor.name}: no buffer named '${name}'`);
    if (old !== t) old.dispose();
    this.buffers.set(name, keep(t));
  }

  /** Every parameter: this module's first, then each child's, in registration order (no duplicates). */
  parameters(): Tensor[] {
    return [...new Set(this.namedParameters().map(([, p]) => p))];
  }

  /** [key, parameter] pairs with PyTorch's dotted keys ('0.weight'). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.params].map(([k, p]) => [prefix + k, p]);
    for (const [name, child] of this.children_) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.buffers].map(([k, b]) => [prefix + k, b]);
    for (const [name, child] of this.children_) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** Direct children as [name, module]. */
  namedChildren(): [string, Module][] {
    return [...this.children_];
  }

  /** This module and every descendant, depth first. */
  modules(): Module[] {
    return [this, ...[...this.children_.values()].flatMap((c) => c.modules())];
  }

  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Parameters and buffers by PyTorch key, in PyTorch's order (each module's parameters, then its
   * buffers, then its children). The tensors are the live ones: copy them if you keep them.
   */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [k, p] of this.params) out.set(prefix + k, p);
    for (const [k, b] of this.buffers) out.set(prefix + k, b);
    for (const [name, child] of this.children_) for (const [k, t] of child.stateDict(`${prefix}${name}.`)) out.set(k, t);
    return out;
  }

  /**
   * Copies values into the live parameters and buffers (in place, so optimizers that hold them keep
   * working). With `strict` (default) missing and unexpected keys are errors; shapes and dtypes must
   * always match. All problems are reported together.
   */
  loadStateDict(dict: Map<string, Tensor> | Record<string, Tensor>, { strict = true }: { strict?: boolean } = {}): void {
    const given = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const problems: string[] = [];
    const missing = [...own.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !own.has(k));
    if (strict && missing.length) problems.push(`missing keys: ${missing.join(', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected keys: ${unexpected.join(', ')}`);
    for (const [k, target] of own) {
      const v = given.get(k);
      if (!v) continue;
      if (!shapesEqual(v.shape, target.shape) || v.dtype !== target.dtype) {
        problems.push(`'${k}' is ${fmtShape(v.shape)} ${v.dtype}, expected ${fmtShape(target.shape)} ${target.dtype}`);
      }
    }
    if (problems.length) throw new WebtrainError(`loadStateDict (${this.constructor.name}): ${problems.join('; ')}`);
    for (const [k, target] of own) {
      const v = given.get(k);
      if (v) target.assign(v);
    }
  }

  /** Frees every parameter and buffer (and their gradients). */
  dispose(): void {
    for (const [, t] of this.stateDict()) t.dispose();
  }

  private checkFree(name: string): void {
    if (this.params.has(name) || this.buffers.has(name) || this.children_.has(name)) {
      throw new WebtrainError(`${this.constructor.name}: '${name}' is already registered`);
    }
  }
}
