// Entry of TF.js for the benchmark: bundled with rolldown into bench/out/tfjs-webgpu.mjs for Node
// (bench/run.mjs), imported as is by the benchmark page (bench/browser/main.mjs, through vite).
// TF.js's ESM build (its CommonJS Node build has no gradients), the gradients registered, and the WebGPU
// backend, which registers itself at import only if `navigator.gpu` exists: import this bundle after
// the shim is set up.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
export { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
