/**
 * Reverse-mode autodiff over the recorded graph: a topological walk from the output, each node's vjp
 * (written with ops) turning the output gradient into input gradients, summed where paths merge.
 * With `createGraph` the vjps run with recording on, so the gradients are differentiable again.
 */
import { fail, fmtShape, WebtrainError } from '../errors';
import { apply, currentCapture, inBackward, keep, releaseNode, savedTensors, tidy, withGradMode, type GraphNode } from '../runtime';
import { shapesEqual } from '../shape';
import type { GradSlot, Tensor } from '../tensor';
import { accumulate, clone } from '../ops/functional';
import { fill } from '../ops/creation';

export interface BackwardOptions {
  /** Record the backward ops so the gradients can be differentiated again (Hessian-vector products). */
  createGraph?: boolean;
  /** Keep the graph's saved values for another backward (default: createGraph). */
  retainGraph?: boolean;
}

/** `y.backward(gy)`: accumulates d(y·gy)/dx into `x.grad` for every leaf x that requires grad. */
export function backward(y: Tensor, gy: Tensor | undefined, opts: BackwardOptions): void {
  const leafGrads: [Tensor, Tensor][] = [];
  walk(y, gy, opts, (x) => x.isLeaf, (x, g) => leafGrads.push([x, g]));
  const capture = currentCapture();
  const slots = new Set<GradSlot>();
  for (const [x, g] of leafGrads) {
    keep(g);
    if (x.gradSlot) {
      x.gradSlot.add(g); // a parameter in an optimizer's arena: the slot takes g, written at settle()
      slots.add(x.gradSlot);
    } else if (capture && !x.gradSetDuring(capture.id)) {
      // A captured step that did not zero x's gradient: each replay must add into it, as eager steps
      // do, so it is added in place into a buffer made outside the recording (zeros if it has none).
      // That add is not differentiable: a gradient meant to be differentiated again must start afresh.
      if (opts.createGraph) {
        throw new WebtrainError(`backward: createGraph inside captureStep into the gradient of a ${fmtShape(x.shape)} tensor that the step did not zero; ` +
          'set its grad to null (or zeroGrad) inside the step, so that each replay computes it afresh');
      }
      if (x.grad === null) capture.unrecorded(() => { x.grad = keep(apply(fill, [], { shape: [...x.shape], value: 0, dtype: x.dtype }, x.backend.name)); });
      accumulate(x.grad!, g);
      g.dispose();
    } else if (x.grad === null) x.grad = g;
    else {
      const sum = keep(x.grad.add(g));
      g.dispose();
      x.grad = sum;
    }
  }
  for (const slot of slots) slot.settle(); // each arena writes its parameters' gradients together
}

/**
 * Gradients of y w.r.t. each of `xs` (leaves or intermediate tensors), returned without touching
 * `.grad` (torch.autograd.grad). A tensor y does not depend on gets zeros.
 */
export function gradients(y: Tensor, xs: Tensor[], gy: Tensor | undefined, opts: BackwardOptions): Tensor[] {
  const wanted = new Set(xs);
  const found = new Map<Tensor, Tensor>();
  walk(y, gy, opts, (x) => wanted.has(x), (x, g) => found.set(x, g));
  return xs.map((x) => found.get(x) ?? apply(fill, [], { shape: [...x.shape], value: 0, dtype: x.dtype }, x.backend.name));
}

/**
 * The walk, in reverse topological order. Each tensor's gradient is complete when it is reached (all
 * its consumers are done); if `wants(x)`, `take(x, g)` receives a tensor the caller then owns.
 */
function walk(y: Tensor, gy: Tensor | undefined, opts: BackwardOptions,
  wants: (x: Tensor) => boolean, take: (x: Tensor, g: Tensor) => void): void {
  if (!y.requiresGrad) {
    throw new WebtrainError(`backward: the tensor of shape ${fmtShape(y.shape)} does not require grad ` +
      '(no input had requiresGrad = true, or it was computed under noGrad)');
  }
  if (gy === undefined && y.size !== 1) {
    fail('backward', `gy is required for a non-scalar output of shape ${fmtShape(y.shape)} (pass a gradient of the same shape, or reduce to a scalar first)`);
  }
  if (gy && !shapesEqual(gy.shape, y.shape)) fail('backward', `gy of shape ${fmtShape(gy.shape)} does not match the output's ${fmtShape(y.shape)}`);
  const createGraph = opts.createGraph ?? false;
  const retainGraph = opts.retainGraph ?? createGraph;
  const order = topologicalOrder(y);

  withGradMode(createGraph, () => inBackward(() => {
    // Gradients in flight, and how many slots hold each (a vjp may pass gy through to several inputs).
    const grads = new Map<Tensor, Tensor>();
    const holders = new Map<Tensor, number>();
    const hold = (g: Tensor) => { holders.set(g, (holders.get(g) ?? 0) + 1); };
    const letGo = (g: Tensor) => {
      const n = holders.get(g)! - 1;
      if (n > 0) { holders.set(g, n); return; }
      holders.delete(g);
      if (g !== gy) g.dispose();
    };
    // Released only after the walk: releasing a node can cascade into upstream nodes not yet visited.
    const visited: GraphNode[] = [];
    const start = gy ?? apply(fill, [], { shape: [...y.shape], value: 1, dtype: y.dtype }, y.backend.name);
    grads.set(y, start);
    hold(start);

    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (wants(t)) take(t, clone(g));
      const node = t.life.node!;
      if (node.released) {
        throw new WebtrainError(`backward: the graph through '${node.op.name}' was already freed by an earlier backward; ` +
          'pass {retainGraph: true} to the first backward to go through it twice');
      }
      checkVersions(node);
      // tidy: a vjp's temporaries (masks, partial products) are freed, its returned gradients kept.
      const needsGrad = node.inputs.map((x) => x.requiresGrad);
      const gis = tidy(() => node.op.vjp!({ inputs: node.inputs, y: node.output, attrs: node.attrs, needsGrad }, g));
      const unheld = (gi: Tensor) => gi !== g && !holders.has(gi);
      node.inputs.forEach((x, k) => {
        const gi = gis[k];
        if (!gi) return;
        if (!x.requiresGrad) {
          if (unheld(gi)) gi.dispose();
          return;
        }
        const prev = grads.get(x);
        if (!prev) {
          grads.set(x, gi);
          hold(gi);
          return;
        }
        const sum = prev.add(gi);
        grads.set(x, sum);
        hold(sum);
        letGo(prev);
        if (unheld(gi)) gi.dispose();
      });
      visited.push(node);
      letGo(g);
    }
    if (!retainGraph) visited.forEach(releaseNode);
    // What is left are leaves (interior tensors were all in `order`).
    for (const [x, g] of grads) {
      if (!wants(x)) letGo(g);
      else if (holders.get(g) === 1 && g !== gy) {
        holders.delete(g);
        take(x, g);
      } else {
        take(x, clone(g));
        letGo(g);
      }
    }
  }));
}

/** Tensors with a graph node reachable from y, inputs before their consumers. */
function topologicalOrder(y: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, boolean][] = [[y, false]];
  while (stack.length) {
    const [t, expanded] = stack.pop()!;
    if (expanded) { order.push(t); continue; }
    if (seen.has(t) || !t.life.node || !t.requiresGrad) continue;
    seen.add(t);
    stack.push([t, true]);
    for (const x of t.life.node.inputs) if (!seen.has(x)) stack.push([x, false]);
  }
  return order;
}

function checkVersions(node: GraphNode): void {
  savedTensors(node).forEach((t, i) => {
    if (t.life.storage && t.life.storage.version !== node.versions[i]) {
      throw new WebtrainError(`backward: a tensor of shape ${fmtShape(t.shape)} that '${node.op.name}' saved for its gradient ` +
        'was modified in place (assign) after it was used; compute the gradient before updating it');
    }
  });
}
