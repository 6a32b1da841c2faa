/**
 * The optimizer base: parameter groups, each an arena (see arena.ts) updated by ONE fused kernel per
 * step() on WebGPU; the unfused composition of ops (each optimizer's `reference`) is the CPU path
 * and the reference the fused kernels are tested against. Update rules and defaults are PyTorch's.
 */
import { WebtrainError } from '../errors';
import { noGrad } from '../session';
import { Uniforms } from '../backend/webgpu/uniforms';
import { STEP_SUBMIT_MIN_DISPATCHES, type WebGPUBackend } from '../backend/webgpu/webgpu-backend';
import type { Tensor } from '../tensor';
import { sliceOf, tidy } from '../runtime';
import { ParamArena } from './arena';
import { isCapturing } from '../capture';

/** A learning rate: a number, or a schedule giving the rate of the t-th update (t = 1, 2, ...). */
export type LearningRate = number | ((t: number) => number);

export interface BaseHyperParams {
  lr: LearningRate;
}

/** A group of parameters with its own hyper-parameters (e.g. no weight decay on biases). */
export type ParamGroupSpec<H> = { params: Tensor[] } & Partial<H>;

export interface ParamGroup<H> {
  readonly params: Tensor[];
  /** The group's hyper-parameters; mutable between steps (lr, momentum, ...). */
  hp: H;
  readonly arena: ParamArena;
  /** Updates done (PyTorch's per-parameter `step`, shared by the group). */
  step: number;
}

export interface OptimizerOptions {
  /** Rescale all gradients so their global L2 norm is at most this (torch.nn.utils.clip_grad_norm_), inside the update kernel. */
  maxGradNorm?: number;
}

/** A kernel launch over one group's arena: bindings after (param, grad), in the shader's order. */
export interface FusedUpdate {
  shader: string;
  defines: Record<string, boolean>;
  uniforms: Uniforms;
  state: (Tensor | undefined)[];
}

export abstract class Optimizer<H extends BaseHyperParams> {
  readonly paramGroups: ParamGroup<H>[];
  /** Fused kernel on WebGPU (default); false runs the unfused composition of ops, the reference. */
  fused = true;
  readonly maxGradNorm: number | undefined;
  /** Kernel dispatches the last step() issued for updates (tests count them). */
  lastStepDispatches = 0;

  constructor(readonly name: string, params: Tensor[] | ParamGroupSpec<H>[], hp: Partial<H> & OptimizerOptions,
    private readonly defaults: H) {
    const { maxGradNorm, ...rest } = hp;
    this.maxGradNorm = maxGradNorm;
    if (maxGradNorm !== undefined && !(maxGradNorm > 0)) throw new WebtrainError(`${name}: maxGradNorm must be > 0, got ${maxGradNorm}`);
    this.checkKeys(rest, 'options');
    const specs: ParamGroupSpec<H>[] = params.length > 0 && !isGroupSpec(params[0])
      ? [{ params: params as Tensor[] } as ParamGroupSpec<H>]
      : (params as ParamGroupSpec<H>[]);
    if (specs.length === 0) throw new WebtrainError(`${name}: got no parameters`);
    this.paramGroups = specs.map((spec, i) => {
      const { params: ps, ...own } = spec;
      this.checkKeys(own, `parameter group ${i}`);
      const groupHp = { ...defaults, ...rest, ...own } as H;
      this.validate(groupHp);
      return { params: ps, hp: groupHp, arena: new ParamArena(ps, name), step: 0 };
    });
  }

  /** Checks hyper-parameter values (ranges); throws naming the optimizer and the value. */
  protected abstract validate(hp: H): void;
  /** The fused kernel's launch for one group (WebGPU). */
  protected abstract fusedUpdate(group: ParamGroup<H>, lr: number, clip: boolean): FusedUpdate;
  /** The update written with ops over the group's flat buffers: the CPU path and the fused kernel's reference. */
  protected abstract reference(group: ParamGroup<H>, lr: number, grad: Tensor): void;

  /** One update of every group: one kernel dispatch per group on WebGPU (plus a few for clipping). */
  step(): void {
    if (isCapturing()) {
      throw new WebtrainError(`${this.constructor.name}.step() inside captureStep: its step count and learning rate change every step, ` +
        'but a replay repeats the captured values; call step() after each run()');
    }
    noGrad(() => tidy(() => {
      const scale = this.maxGradNorm === undefined ? undefined : this.clipScale(this.maxGradNorm);
      this.lastStepDispatches = 0;
      for (const g of this.paramGroups) {
        g.step++;
        const lr = typeof g.hp.lr === 'function' ? g.hp.lr(g.step) : g.hp.lr;
        const gpu = g.arena.values.backend.name === 'webgpu';
        if (this.fused && gpu && g.arena.values.dtype === 'f32') {
          this.launch(g, this.fusedUpdate(g, lr, scale !== undefined), scale);
        } else {
          this.reference(g, lr, scale ? g.arena.grads.mul(scale) : g.arena.grads);
        }
      }
    }));
    // The update ends a training step: submit it now, so the GPU runs this step while JavaScript
    // encodes the next one (steps of a few dispatches keep accumulating).
    for (const backend of new Set(this.paramGroups.map((g) => g.arena.values.backend))) backend.flush(STEP_SUBMIT_MIN_DISPATCHES);
  }

  /** Zeroes every gradient (deferred: the next backward overwrites instead of adding; see arena.ts). */
  zeroGrad(): void {
    for (const g of this.paramGroups) g.arena.zeroGrads();
  }

  /** The learning rate each group uses at its next step. */
  currentLr(): number[] {
    return this.paramGroups.map((g) => (typeof g.hp.lr === 'function' ? g.hp.lr(g.step + 1) : g.hp.lr));
  }

  /**
   * State in PyTorch's layout: `state[i]` holds parameter i's buffers (views of the arena) and
   * `step`; `paramGroups[j]` its hyper-parameters and parameter indices. Schedules are not data:
   * a group with a schedule reports lr as the rate of its last update.
   */
  stateDict(): { state: Record<number, Record<string, Tensor | number>>; paramGroups: Record<string, unknown>[] } {
    const state: Record<number, Record<string, Tensor | number>> = {};
    const paramGroups: Record<string, unknown>[] = [];
    let index = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      g.params.forEach((_, i) => {
        const entry: Record<string, Tensor | number> = { step: g.step };
        for (const name of g.arena.stateNames()) entry[name] = g.arena.view(g.arena.state(name), i);
        if (g.step > 0) state[index] = entry;
        ids.push(index++);
      });
      const hp: Record<string, unknown> = { ...(g.hp as object) };
      if (typeof g.hp.lr === 'function') hp.lr = g.hp.lr(Math.max(g.step, 1));
      paramGroups.push({ ...hp, params: ids });
    }
    return { state, paramGroups };
  }

  /** Restores state saved by stateDict() (values are copied into this optimizer's arenas). */
  loadStateDict(sd: ReturnType<Optimizer<H>['stateDict']>): void {
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new WebtrainError(`${this.name}.loadStateDict: ${sd.paramGroups.length} parameter groups saved, this optimizer has ${this.paramGroups.length}`);
    }
    let index = 0;
    this.paramGroups.forEach((g, j) => {
      const saved = sd.paramGroups[j];
      const ids = saved.params as number[];
      if (ids.length !== g.params.length) {
        throw new WebtrainError(`${this.name}.loadStateDict: group ${j} saved ${ids.length} parameters, has ${g.params.length}`);
      }
      const { params: _ids, ...hp } = saved;
      this.checkKeys(hp, `saved group ${j}`);
      // A schedule stays a schedule (it is code); numbers are restored.
      for (const [k, v] of Object.entries(hp)) if (!(k === 'lr' && typeof g.hp.lr === 'function')) (g.hp as Record<string, unknown>)[k] = v;
      g.step = 0;
      g.params.forEach((p, i) => {
        const entry = sd.state[ids[i]];
        if (!entry) return;
        g.step = Number(entry.step);
        for (const [name, value] of Object.entries(entry)) {
          if (name === 'step') continue;
          const view = g.arena.view(g.arena.state(name), i);
          if (typeof value === 'number' || value.shape.join() !== p.shape.join()) {
            view.dispose();
            throw new WebtrainError(`${this.name}.loadStateDict: state '${name}' of parameter ${index + i} does not match its shape [${p.shape}]`);
          }
          view.assign(value);
          view.dispose();
        }
      });
      index += g.params.length;
    });
  }

  /** Frees the arenas' gradient and state buffers; parameters keep their values. */
  dispose(): void {
    for (const g of this.paramGroups) g.arena.release();
  }

  private launch(g: ParamGroup<H>, u: FusedUpdate, scale: Tensor | undefined): void {
    const gpu = g.arena.values.backend as WebGPUBackend;
    const bindings = [g.arena.values, g.arena.grads, ...u.state, scale].map((t) => (t ? sliceOf(t) : undefined));
    // A thread per 4 elements (vec4 loads; the arena's size is a multiple of 64 elements).
    gpu.dispatch({ label: `${this.name}.step`, shader: u.shader, defines: u.defines, uniforms: u.uniforms, bindings, threads: g.arena.size / 4 });
    this.lastStepDispatches++;
  }

  /** min(1, maxNorm / (‖g‖₂ + 1e-6)) over every group's gradients, as a 1-element tensor. */
  private clipScale(maxNorm: number): Tensor {
    const squares = this.paramGroups.map((g) => g.arena.grads.square().sum());
    const total = squares.reduce((a, b) => a.add(b)).sqrt();
    return total.add(1e-6).reciprocal().mul(maxNorm).minimum(1).reshape([1]);
  }

  private checkKeys(given: object, where: string): void {
    const known = Object.keys(this.defaults);
    const unknown = Object.keys(given).filter((k) => !known.includes(k));
    if (unknown.length) {
      throw new WebtrainError(`${this.name}: unknown hyper-parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} in ${where} (known: ${known.join(', ')}, maxGradNorm)`);
    }
  }
}

function isGroupSpec(x: unknown): boolean {
  return typeof x === 'object' && x !== null && 'params' in x && Array.isArray((x as { params: unknown }).params);
}

/** Throws unless `ok`, naming the optimizer and the offending value. */
export function check(ok: boolean, optimizer: string, message: string): void {
  if (!ok) throw new WebtrainError(`${optimizer}: ${message}`);
}
