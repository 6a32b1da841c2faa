// One config for the library build (`vite build` → dist/webtrain.js), the CLI build (`vite build
// --mode cli` → dist/cli.js, run by bin/webtrain.mjs) and for vitest (`test` key).
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Imports left to the runtime: `webgpu` is Dawn for Node (a native addon, loaded lazily by
 * src/backend/webgpu only under Node, so browser and Deno users never fetch it), and Node builtins
 * must not be polyfilled or stubbed for the browser.
 */
function isExternal(id: string): boolean {
  return (
    id === 'webgpu' ||
    id.startsWith('webgpu/') ||
    id.startsWith('node:') ||
    builtinModules.includes(id)
  );
}

export default defineConfig(({ mode }) => ({
  root,
  // The library has no static assets; keep a stray public/ from being copied into dist.
  publicDir: false,
  build: {
    // ES2022: top-level await and class fields as written; every WebGPU runtime supports them.
    target: 'es2022',
    outDir: 'dist',
    // dist/types is written by tsc after vite, so wiping dist first keeps no stale files.
    emptyOutDir: true,
    // A library: consumers minify; a readable bundle makes stack traces and bug reports useful.
    minify: false,
    sourcemap: true,
    lib: {
      entry: 'src/index.ts',
      formats: ['es'],
      fileName: () => 'webtrain.js',
    },
    rolldownOptions: {
      external: isExternal,
      // One file: shaders come in as strings (`?raw`), and a single module is what the
      // Deno smoke test and `<script type=module>` users import.
      output: { codeSplitting: false },
    },
  },
  // The CLI is a second build (rolldown cannot emit two entries without code splitting, and the
  // library must stay one file): it imports the library as ./webtrain.js instead of bundling a
  // second copy, keeps cli-progress a runtime dependency, and inlines uPlot (`?raw`) for its report.
  ...(mode === 'cli' ? { build: cliBuild, plugins: [cliImportsLibrary] } : {}),
  test: {
    include: ['test/**/*.test.ts'],
    // Child processes, not worker threads: dawn.node is a native addon that keeps the event loop
    // alive and is not safe to load in several threads of one process (tests call wt.shutdown()).
    pool: 'forks',
    // One file at a time: SwiftShader (Node's Dawn, Chromium, Deno) already uses every core, and
    // parallel files would only make each one slower and nearer its timeout.
    fileParallelism: false,
    // gc() lets a test check the FinalizationRegistry safety net for undisposed tensors.
    execArgv: ['--expose-gc'],
    // SwiftShader runs shaders on the CPU: compiling pipelines alone takes seconds.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
}));

/** dist/cli.js from src/cli/main.ts, next to dist/webtrain.js (which it leaves in place). */
const cliBuild = {
  target: 'es2022',
  outDir: 'dist',
  emptyOutDir: false,
  minify: false,
  sourcemap: true,
  lib: { entry: 'src/cli/main.ts', formats: ['es' as const], fileName: () => 'cli.js' },
  rolldownOptions: {
    external: (id: string) => isExternal(id) || id === 'cli-progress' || id === './webtrain.js',
    output: { codeSplitting: false },
  },
};

/** The CLI's `import * as wt from '../index'` becomes `from './webtrain.js'` (the built library). */
const cliImportsLibrary = {
  name: 'webtrain-cli-imports-library',
  enforce: 'pre' as const,
  resolveId(source: string, importer?: string) {
    if (source === '../index' && importer?.replace(/\\/g, '/').includes('/src/cli/')) return { id: './webtrain.js', external: true };
    return null;
  },
};
