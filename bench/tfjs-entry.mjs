// Entry of the TF.js bundle used by bench/run.mjs (built with rolldown into bench/out/tfjs-webgpu.mjs).
// TF.js's ESM build (its CommonJS Node build has no gradients), the gradients registered, and the WebGPU
// backend, which registers itself at import only if `navigator.gpu` exists: import this bundle after
// the shim is set up.
export * from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
export { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
