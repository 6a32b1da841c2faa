// Puppeteer must not download its own browser (no network for that on CI); tests use the system
// Chromium (Debian package `chromium`), which ships SwiftShader for WebGPU without a GPU.
module.exports = { skipDownload: true };
