/**
 * Step capture: run a training step's function once, recording its GPU dispatches, then replay
 * them for later steps with no JavaScript op overhead (no graph building, no tape, no shape checks,
 * no pipeline or bind-group lookups): CUDA graphs for WebGPU. A small model's step is host-bound
 * (tens of µs of JavaScript per dispatch against a few µs of GPU work), so replaying is where its
 * time goes down.
 *
 * What a replay repeats is exactly the captured dispatches: same kernels, same buffers, same
 * uniforms. So the function must do the same work every step (no branches on data), its inputs
 * change only through `run(...)` (copied into the input tensors' buffers), and nothing in it may
 * change per call: random draws (dropout, rand) and optimizer steps (step counts, schedules) are
 * refused with an error. Gradients behave as in eager steps: zeroed inside the step
 * (`optimizer.zeroGrad()`, `p.grad = null`), each run's backward starts them afresh; not zeroed
 * inside, runs add into them (gradient accumulation, zeroed outside every few runs). For that, a
 * gradient the step did not set is accumulated in place, into a buffer that exists before the
 * recording, and zeroings asked for before the capture run unrecorded. On the CPU backend there is
 * nothing to replay and `run` calls the function again, with the same results.
 */
import { WebtrainError } from './errors';
import { currentCapture, getBackend, setActiveCapture, tidy, type ActiveCapture } from './runtime';
import { Tensor } from './tensor';
import { tensor as makeTensor } from './create';
import type { TypedArray } from './dtype';
import { STEP_SUBMIT_MIN_DISPATCHES, type WebGPUBackend } from './backend/webgpu/webgpu-backend';
import type { OpDef } from './ops/op-def';

/** A new value for one of a captured step's inputs: a tensor of the same shape, or its data. */
export type StepInput = Tensor | TypedArray | number[];

export interface CaptureOptions {
  /** Tensors the step reads that `run(...)` refills each step (a batch's x and y), in order. */
  inputs?: Tensor[];
}

/** What captureStep returns: the step, replayable. */
export interface CapturedStep<T> {
  /** The function's result: the same tensors after every run, with that run's values. */
  readonly result: T;
  /** Dispatches one run replays (0 on the CPU). */
  readonly dispatches: number;
  /** Copies `values` into the inputs (in CaptureOptions order), replays the step and returns its result. */
  run(...values: StepInput[]): T;
  /** Releases the captured buffers (the result tensors stay usable). */
  dispose(): void;
}

/** Captured steps not yet disposed. */
let live = 0;
/** Numbers the captures (ActiveCapture.id). */
let captures = 0;

/** True while captureStep records a step: optimizers refuse to step inside one. */
export function isCapturing(): boolean {
  return currentCapture() !== null;
}

/**
 * True while some captured step is alive: its replays repeat the recorded dispatches whatever the
 * JavaScript state, so work that is otherwise deferred (zeroGrad's fill) must happen at once.
 */
export function hasLiveCaptures(): boolean {
  return live > 0;
}

/**
 * Runs `fn` once and records it for replay (see the file comment for what it may contain). `fn`
 * returns the tensors to keep (the loss, say), a list of them, or nothing.
 *
 *     const step = wt.captureStep(() => { opt.zeroGrad(); const loss = lossOf(model.forward(x), y); loss.backward(); return loss; }, { inputs: [x, y] });
 *     for (const b of batches) { step.run(b.x, b.y); opt.step(); }
 *     console.log(await step.result.item());
 */
export function captureStep<T extends Tensor | Tensor[] | void>(fn: () => T, opts: CaptureOptions = {}): CapturedStep<T> {
  const inputs = opts.inputs ?? [];
  for (const [i, t] of inputs.entries()) {
    if (!(t instanceof Tensor)) throw new WebtrainError(`captureStep: inputs[${i}] is not a tensor`);
  }
  const backend = inputs[0]?.backend ?? getBackend();
  if (backend.name !== 'webgpu') return eagerStep(fn, inputs);
  const gpu = backend as WebGPUBackend;
  let result: T;
  gpu.beginCapture();
  const capture: ActiveCapture = {
    id: ++captures,
    guard: refuseRandom,
    unrecorded(f) {
      setActiveCapture(null); // outside the capture for everyone: what f sets is not the step's doing
      try {
        return gpu.withoutRecording(f);
      } finally {
        setActiveCapture(capture);
      }
    },
  };
  setActiveCapture(capture);
  try {
    result = fn();
  } catch (e) {
    gpu.releaseCapture(gpu.endCapture()); // the buffers it pinned go back to the pool
    throw e;
  } finally {
    setActiveCapture(null);
  }
  const captured = gpu.endCapture();
  live++;
  let disposed = false;
  return {
    result,
    dispatches: captured.steps.length,
    run(...values: StepInput[]) {
      refill('captureStep.run', inputs, values);
      gpu.replay(captured);
      gpu.flush(STEP_SUBMIT_MIN_DISPATCHES); // the GPU starts on this step while the next is encoded
      return result;
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      live--;
      gpu.releaseCapture(captured);
    },
  };
}

function refuseRandom(op: OpDef<unknown>): void {
  if (op.random) {
    throw new WebtrainError(`captureStep: '${op.name}' draws new random numbers on every call, but a replay repeats the captured ones; ` +
      `keep ${op.name === 'dropout' ? 'dropout (model.train())' : 'random draws'} out of the captured function (model.eval() turns dropout off)`);
  }
}

/** On the CPU: run(...) calls fn again and copies its result into the first run's tensors. */
function eagerStep<T extends Tensor | Tensor[] | void>(fn: () => T, inputs: Tensor[]): CapturedStep<T> {
  const result = fn();
  const outs = tensorsOf(result);
  return {
    result,
    dispatches: 0,
    run(...values: StepInput[]) {
      refill('captureStep.run', inputs, values);
      tensorsOf(fn()).forEach((t, i) => {
        outs[i].assign(t);
        t.dispose();
      });
      return result;
    },
    dispose() {},
  };
}

/** The tensors a step function returned: one, a list, or none. */
function tensorsOf(result: Tensor | Tensor[] | void): Tensor[] {
  return Array.isArray(result) ? result : result instanceof Tensor ? [result] : [];
}

/** Copies each new value into its input tensor (an op, so it is ordered with the replay). */
function refill(op: string, inputs: Tensor[], values: StepInput[]): void {
  if (values.length !== inputs.length) {
    throw new WebtrainError(`${op}: expected ${inputs.length} input value(s) (as captureStep's inputs), got ${values.length}`);
  }
  values.forEach((v, i) => {
    const into = inputs[i];
    tidy(() => {
      const src = v instanceof Tensor ? v : makeTensor(v as TypedArray, [...into.shape], { dtype: into.dtype, backend: into.backend.name });
      if (src.shape.length !== into.shape.length || src.shape.some((d, j) => d !== into.shape[j]) || src.dtype !== into.dtype) {
        throw new WebtrainError(`${op}: input ${i} must be ${into.dtype} [${into.shape}], got ${src.dtype} [${src.shape}]`);
      }
      into.assign(src);
    });
  });
}
