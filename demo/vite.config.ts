// The demo page (demo/index.html): `npm run demo` serves it (vite dev server), `npm run build:demo`
// builds it into dist-demo/ (static files; any web server on a secure origin, e.g. localhost, works).
// It imports the library from ../src directly, so the shaders come in through the same `?raw` imports
// as in the library build. Separate from ../vite.config.ts (library, CLI, vitest), which it leaves alone.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { mnistSubset } from './mnist-plugin.ts';

const demoRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  root: demoRoot,
  // Relative asset URLs: the built page works from any directory it is copied to.
  base: './',
  publicDir: false,
  // 300 digits of each class: the playground's MNIST, and enough for the lab's digit experiments
  // (adversarial examples asks for 2,000 + 500 by default).
  plugins: [mnistSubset({ perDigit: 300 })],
  // `webgpu` (Dawn for Node) is only reached behind a runtime check under Node: never pre-bundle it.
  optimizeDeps: { exclude: ['webgpu'] },
  server: { fs: { allow: [repoRoot] } },
  build: {
    target: 'es2022',
    outDir: fileURLToPath(new URL('../dist-demo', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    // The MNIST subset is its own ~3 MB chunk (~0.6 MB gzipped), fetched only when digits are needed.
    chunkSizeWarningLimit: 3500,
  },
});
