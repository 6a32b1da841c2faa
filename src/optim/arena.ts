/**
 * A parameter arena: one buffer holding every parameter of a group, each at a 256-byte-aligned
 * offset (WebGPU's storage-binding alignment), with gradients and optimizer state in buffers of the
 * same layout. A whole group's update is then ONE kernel over flat buffers, whatever the number of
 * layers. Zeroing its gradients is deferred: a backward then copies into each zeroed slot instead
 * of adding, and only slots no backward wrote are filled when the gradients are read, so the usual
 * zeroGrad → backward → step costs no fill, and the copies of one backward go in together (one
 * dispatch per 6 parameters).
 */
import { bytesPerElement } from '../dtype';
import { WebtrainError, fmtShape } from '../errors';
import { tensor, zeros } from '../create';
import { currentCapture, keep, rebindStorage, viewOf } from '../runtime';
import { packInto, zeroFill } from '../ops/functional';
import { hasLiveCaptures, isCapturing } from '../capture';
import type { GradSlot, Tensor } from '../tensor';

/** Each slot starts 256-byte aligned, so the arena's size is a multiple of 64 f32s: the fused updates read vec4s. */
const ALIGN_BYTES = 256;

/** Parameters already placed in an arena (a parameter belongs to one optimizer). */
const placed = new WeakSet<Tensor>();

export class ParamArena {
  /** Element offset of each parameter's slot. */
  readonly offsets: number[];
  /** Elements in the arena, padding included (padding stays 0 in values, gradients and state). */
  readonly size: number;
  /** All parameters' values, flat ([size]); each parameter is now a view of it. */
  readonly values: Tensor;
  /** All gradients, flat ([size]), each parameter's `grad` a slot of it: see `grads`. */
  private readonly gradBuffer: Tensor;
  /** Each parameter's gradient slot (a view of gradBuffer). */
  private readonly slotViews: Tensor[];
  /** Slots whose gradient is zero but whose memory is not cleared yet (zeroGrads defers the fill). */
  private readonly zeroPending: boolean[];
  /** The capture (ActiveCapture.id) during which zeroGrads last deferred its zeroing, 0 for none. */
  private zeroedIn = 0;
  /** Gradients a backward handed over (copies into zeroed slots, or adds), written by settle(). */
  private queued: { slot: number; g: Tensor; add: boolean }[] = [];
  private readonly states = new Map<string, Tensor>();

  constructor(readonly params: Tensor[], owner: string) {
    if (params.length === 0) throw new WebtrainError(`${owner}: a parameter group needs at least one parameter`);
    const [first] = params;
    for (const p of params) {
      if (!p.requiresGrad || !p.isLeaf) throw new WebtrainError(`${owner}: parameters must be leaf tensors with requiresGrad (got ${p})`);
      if (p.dtype === 'i32') throw new WebtrainError(`${owner}: parameters must be float tensors, got ${p}`);
      if (p.backend !== first.backend || p.dtype !== first.dtype) {
        throw new WebtrainError(`${owner}: all parameters of a group must share one backend and dtype (${first} vs ${p})`);
      }
      if (placed.has(p)) throw new WebtrainError(`${owner}: parameter ${fmtShape(p.shape)} is already managed by another optimizer`);
    }
    if (new Set(params).size !== params.length) throw new WebtrainError(`${owner}: a parameter appears twice`);
    const align = ALIGN_BYTES / bytesPerElement(first.dtype);
    let size = 0;
    this.offsets = params.map((p) => {
      const at = size;
      size += Math.ceil(Math.max(p.size, 1) / align) * align;
      return at;
    });
    this.size = size;
    const opts = { dtype: first.dtype, backend: first.backend.name };
    // keep(): an optimizer made inside tidy() must not lose its buffers when the scope closes.
    this.values = keep(zeros([size], opts));
    this.gradBuffer = keep(zeros([size], opts));
    this.slotViews = params.map((_, i) => this.view(this.gradBuffer, i));
    this.zeroPending = params.map(() => false);
    params.forEach((p, i) => {
      const slot = this.view(this.values, i);
      slot.assign(p); // the current values move into the arena...
      slot.dispose();
      rebindStorage(p, this.values, this.values.life.byteOffset + this.offsets[i] * bytesPerElement(p.dtype)); // ...and p points there
      p.gradSlot = this.gradSlot(i);
      placed.add(p);
    });
  }

  /** All gradients, flat ([size]), with any deferred zeroing done first. */
  get grads(): Tensor {
    this.settle();
    this.clearPendingZeros();
    return this.gradBuffer;
  }

  /**
   * Sets every gradient to zero: deferred (see the file comment), except while a captured step
   * lives, whose replays repeat their recorded dispatches (adds included) whatever is pending here.
   */
  zeroGrads(): void {
    this.dropQueued();
    if (hasLiveCaptures() && !isCapturing()) {
      zeroFill(this.gradBuffer);
      this.zeroPending.fill(false);
    } else {
      this.zeroPending.fill(true);
      this.zeroedIn = currentCapture()?.id ?? 0;
    }
  }

  /** Fills the slots still pending zero: one fill of the buffer when all are, else one per slot. */
  private clearPendingZeros(): void {
    if (this.zeroPending.every((z) => z)) this.fillPending(this.gradBuffer);
    else this.zeroPending.forEach((z, i) => { if (z) this.fillPending(this.slotViews[i]); });
    this.zeroPending.fill(false);
  }

  /**
   * True inside a captured step that did not ask for the pending zeroing (zeroGrads ran before the
   * capture): its replays must add into the gradients, as eager steps would, so the zeroing runs
   * once, unrecorded, and backward adds instead of copying.
   */
  private zeroedBeforeCapture(): boolean {
    const capture = currentCapture();
    return capture !== null && this.zeroedIn !== capture.id;
  }

  private fillPending(t: Tensor): void {
    const capture = currentCapture();
    if (capture && this.zeroedBeforeCapture()) capture.unrecorded(() => zeroFill(t));
    else zeroFill(t);
  }

  /**
   * Writes the gradients queued by the slots' add(), at the end of each backward: the copies into
   * zeroed slots in one packInto and the adds in another, a dispatch per 6 parameters on the GPU
   * instead of one each.
   */
  settle(): void {
    if (this.queued.length === 0) return;
    const queued = this.queued;
    this.queued = [];
    for (const add of [false, true]) {
      const parts = queued.filter((q) => q.add === add).map((q) => ({ src: q.g, offset: this.offsets[q.slot] }));
      if (parts.length) packInto(this.gradBuffer, parts, add);
    }
    for (const q of queued) q.g.dispose();
  }

  private dropQueued(): void {
    for (const q of this.queued) q.g.dispose();
    this.queued = [];
  }

  private gradSlot(i: number): GradSlot {
    const view = this.slotViews[i];
    const pending = this.zeroPending;
    return {
      read: () => {
        this.settle();
        if (pending[i]) {
          this.fillPending(view);
          pending[i] = false;
        }
        return view;
      },
      add: (g) => {
        if (this.queued.some((q) => q.slot === i)) this.settle(); // a second gradient in one backward: the first goes in first
        const copy = pending[i] && !this.zeroedBeforeCapture();
        if (pending[i] && !copy) this.fillPending(view);
        pending[i] = false;
        this.queued.push({ slot: i, g, add: !copy });
      },
      settle: () => this.settle(),
      set: (g) => {
        this.settle();
        if (g !== view) view.assign(g ?? 0);
        pending[i] = false;
      },
    };
  }

  /** Parameter i's slot in a flat arena-shaped tensor (values, grads or a state buffer). */
  view(flat: Tensor, i: number): Tensor {
    return viewOf(flat, this.params[i].shape, this.offsets[i]);
  }

  /** A state buffer (created on first use, filled with `init`): exp_avg, momentum_buffer... */
  state(name: string, init = 0): Tensor {
    let s = this.states.get(name);
    if (!s) {
      const opts = { dtype: this.values.dtype, backend: this.values.backend.name };
      if (init === 0) s = zeros([this.size], opts);
      else {
        // Padding stays 0 whatever `init` is (so norms and updates ignore it): built on the host,
        // since padding has no 256-byte-aligned view to fill on the GPU.
        const values = new Float64Array(this.size);
        this.params.forEach((p, i) => values.fill(init, this.offsets[i], this.offsets[i] + p.size));
        s = tensor(values, [this.size], opts);
      }
      this.states.set(name, keep(s));
    }
    return s;
  }

  stateNames(): string[] {
    return [...this.states.keys()];
  }

  /** Frees the arena's buffers and gives the parameters their own storage back. */
  release(): void {
    this.dropQueued();
    this.params.forEach((p, i) => {
      p.gradSlot = null;
      this.slotViews[i].dispose();
      placed.delete(p);
    });
    for (const s of this.states.values()) s.dispose();
    this.gradBuffer.dispose();
    // Parameters keep the values buffer alive through their own references.
    this.values.dispose();
  }
}
