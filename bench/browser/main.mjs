// The benchmark in a page: the same harness and engines as bench/run.mjs in Node, each engine on the
// page's own navigator.gpu. Options come from the query string (quick, only, engine).
import * as wt from '../../src/index.ts';
import { installGpuCounters, runAll } from '../harness.mjs';
import { webtrainEngine } from '../engines/webtrain.mjs';
import { tfjsEngine } from '../engines/tfjs.mjs';
import { jaxEngines } from '../engines/jax.mjs';

const query = new URLSearchParams(location.search);
const log = (m) => { document.getElementById('log').textContent += `${m}\n`; console.log(m); };

// The same entry as the Node bundle: tfjs-core, its gradients, the WebGPU backend, in that order.
const loadTfjs = () => import('../tfjs-entry.mjs');

try {
  const counters = installGpuCounters(globalThis);
  const engines = [webtrainEngine(wt), tfjsEngine(loadTfjs), ...jaxEngines(() => import('@jax-js/jax'))]
    .filter((e) => !query.get('engine') || e.name.includes(query.get('engine')));
  const quick = query.has('quick');
  window.__bench = await runAll(engines, {
    counters, quick, only: query.get('only'), reps: quick ? 3 : 9, warmup: quick ? 1 : 2, log,
    meta: { runtime: `Chromium ${navigator.userAgent.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'} (headless)` },
  });
} catch (e) {
  window.__benchError = e instanceof Error ? `${e.message}\n${e.stack}` : String(e);
}
