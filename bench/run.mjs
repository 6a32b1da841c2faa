// Benchmark, Node: webtrain, TensorFlow.js WebGPU and jax-js (jit and eager) run the same cases one
// after the other in this one process, each on its own Dawn device from the `webgpu` package.
// Cases, timing and tables: bench/harness.mjs; engines: bench/engines/*.mjs. The same engines run in
// headless Chromium with `--browser` (bench/browser/).
//
//   npm run bench [-- flags]        (or, after `npm run build`: node bench/run.mjs [flags])
//   --quick            3 timed blocks instead of 9, shorter blocks
//   --cpu              webtrain's CPU backend only (the peers here are WebGPU engines)
//   --only ID          the cases whose id contains ID (matmul, mlp, adam, matmul-512, ...)
//   --engine NAME      the engines whose name contains NAME (webtrain, tfjs, jax, jax-eager)
//   --browser          run in headless Chromium (SwiftShader there, as here) instead of Node
//   --write            also replace this adapter's section of bench/RESULTS.md with the tables
// Writes bench/out/results-<runtime>-<device>.json and prints the markdown tables.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installGpuCounters, runAll, table } from './harness.mjs';
import { webtrainEngine } from './engines/webtrain.mjs';
import { tfjsEngine } from './engines/tfjs.mjs';
import { jaxEngines } from './engines/jax.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : null);
const options = {
  quick: flag('--quick'), cpu: flag('--cpu'), only: value('--only'), engine: value('--engine'),
};
const benchDir = fileURLToPath(new URL('.', import.meta.url));

async function main() {
  const results = flag('--browser') ? await runInChromium(options) : await runInNode(options);
  const slug = `${slugify(results.runtime.split(' ')[0])}-${slugify(results.device.device)}` + (options.only ? `-only-${slugify(options.only)}` : '');
  mkdirSync(`${benchDir}out`, { recursive: true });
  writeFileSync(`${benchDir}out/results-${slug}.json`, JSON.stringify(results, null, 2) + '\n');
  const markdown = table(results);
  console.log(markdown);
  console.log(`\nwritten: bench/out/results-${slug}.json`);
  if (flag('--write')) writeResultsSection(slug, markdown);
}

async function runInNode({ quick, cpu, only, engine }) {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const wt = await import('../dist/webtrain.js');
  const { globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const counters = cpu ? null : installGpuCounters(globals);
  const engines = [webtrainEngine(wt, { backend: cpu ? 'cpu' : 'webgpu' })];
  if (!cpu) engines.push(tfjsEngine(loadTfjs), ...jaxEngines(loadJax));
  return runAll(engines.filter((e) => !engine || e.name.includes(engine)), {
    counters, quick, only, reps: quick ? 3 : 9, warmup: quick ? 1 : 2, log: (m) => console.error(m),
    meta: { runtime: `Node ${process.version} (Dawn, the webgpu package)` },
  });
}

// The peers find WebGPU through `navigator.gpu`, as in a browser: both share one GPU object from the
// `webgpu` package (kept referenced: Dawn crashes if it is garbage collected), created when the first
// of them loads. jax-js also reads navigator.userAgent and hardwareConcurrency.
let peerGpu = null;
let discardedGpu = null; // the first GPU object when it found no adapter: kept referenced, like peerGpu
async function shimNavigator() {
  if (peerGpu) return;
  const { create } = await import('webgpu');
  peerGpu = create([]);
  // No usable Vulkan driver: Chromium's SwiftShader, as webtrain's own fallback does (which sets the
  // variable itself when webtrain's engine ran first in this process).
  const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(swiftshader) && !(await peerGpu.requestAdapter())) {
    process.env.VK_ICD_FILENAMES = swiftshader;
    discardedGpu = peerGpu;
    peerGpu = create([]);
  }
  Object.defineProperty(globalThis, 'navigator', {
    value: { gpu: peerGpu, userAgent: `Node.js/${process.version}`, hardwareConcurrency: (await import('node:os')).availableParallelism() },
    configurable: true, writable: true,
  });
}

/**
 * TF.js from a bundle of its ESM build (bench/tfjs-entry.mjs → bench/out/tfjs-webgpu.mjs, built with
 * rolldown when missing; TFJS_BUNDLE=path uses another): its CommonJS Node build has no gradients, and
 * its ESM files use extensionless imports that Node cannot load unbundled. Its WebGPU backend
 * registers itself at import only when navigator.gpu exists, hence the shim first.
 */
async function loadTfjs() {
  const bundle = process.env.TFJS_BUNDLE ?? `${benchDir}out/tfjs-webgpu.mjs`;
  if (!existsSync(bundle)) {
    const { build } = await import('rolldown');
    await build({
      input: `${benchDir}tfjs-entry.mjs`, platform: 'node', resolve: { mainFields: ['module', 'main'] },
      output: { file: bundle, format: 'esm' }, logLevel: 'warn',
    });
  }
  await shimNavigator();
  return import(pathToFileURL(bundle).href);
}

async function loadJax() {
  await shimNavigator();
  return import('@jax-js/jax');
}

/** Serves bench/browser/ with vite on 127.0.0.1 and runs the same engines in headless Chromium. */
async function runInChromium({ quick, only, engine }) {
  const { runBenchInChromium } = await import('./browser/launch.mjs');
  return runBenchInChromium({ quick, only, engine, log: (m) => console.error(m) });
}

/** Replaces (or appends) the section `<!-- bench:SLUG -->…<!-- /bench:SLUG -->` of bench/RESULTS.md. */
function writeResultsSection(slug, markdown) {
  const file = `${benchDir}RESULTS.md`;
  const text = readFileSync(file, 'utf8');
  const [open, close] = [`<!-- bench:${slug} -->`, `<!-- /bench:${slug} -->`];
  const section = `${open}\n${markdown}\n${close}`;
  const start = text.indexOf(open), end = text.indexOf(close);
  const next = start >= 0 && end > start ? text.slice(0, start) + section + text.slice(end + close.length) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, next);
  console.log(`updated: bench/RESULTS.md (${slug})`);
}

const slugify = (s) => String(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'unknown';

await main();
