/**
 * Finding a WebGPU adapter and device: `navigator.gpu` in browsers and Deno, the npm package
 * `webgpu` (Google's Dawn) in Node, imported lazily so browser bundles never pull it in.
 */
import { WebtrainError } from '../../errors';

/** Chromium's SwiftShader Vulkan driver (Debian package `chromium`): a CPU WebGPU adapter for GPU-less Linux. */
const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  info: Record<string, string>;
  isFallback: boolean;
  /**
   * The subgroup sizes the adapter may use, when the device has the `subgroups` feature and WGSL
   * has the `subgroup_id` builtin (kernels that place work by subgroup need both); else null.
   */
  subgroups: { minSize: number; maxSize: number } | null;
}

export async function acquireDevice(powerPreference: GPUPowerPreference = 'high-performance'): Promise<AcquiredDevice> {
  const { adapter, gpu } = await findAdapter(powerPreference);
  const info = adapterInfo(adapter);
  const sizes = adapter.info as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined;
  const wantSubgroups = adapter.features.has('subgroups') && !!gpu.wgslLanguageFeatures?.has('subgroup_id') &&
    !!sizes?.subgroupMinSize && !!sizes.subgroupMaxSize;
  // Ask for the adapter's own maxima where tensors can hit the defaults (128 MiB bindings).
  const want = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY',
    'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupsPerDimension'] as const;
  const requiredLimits: Record<string, number> = {};
  for (const k of want) requiredLimits[k] = adapter.limits[k];
  // Subgroups are an optimization: a device refused with them is asked for again without.
  const device = wantSubgroups
    ? await adapter.requestDevice({ requiredLimits, requiredFeatures: ['subgroups' as GPUFeatureName], label: 'webtrain' })
      .catch(() => adapter.requestDevice({ requiredLimits, label: 'webtrain' }))
    : await adapter.requestDevice({ requiredLimits, label: 'webtrain' });
  const softwareName = /swiftshader|llvmpipe|lavapipe|warp|software|basic render/i.test(Object.values(info).join(' '));
  const flagged = (adapter.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ??
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const subgroups = wantSubgroups && device.features.has('subgroups') ? { minSize: sizes!.subgroupMinSize!, maxSize: sizes!.subgroupMaxSize! } : null;
  return { adapter, device, info, isFallback: flagged || softwareName, subgroups };
}

const NO_ADAPTER = 'WebGPU: no adapter found (no usable GPU driver; on GPU-less Linux install Debian `chromium` and `libvulkan1` for SwiftShader)';

/** The adapter, and the GPU object it came from (which lists the WGSL language features). */
async function findAdapter(powerPreference: GPUPowerPreference): Promise<{ adapter: GPUAdapter; gpu: GPU }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) {
    const adapter = await nav.gpu.requestAdapter({ powerPreference });
    if (!adapter) throw new WebtrainError(NO_ADAPTER);
    return { adapter, gpu: nav.gpu };
  }
  const proc = (globalThis as { process?: { versions?: { node?: string }; env: Record<string, string | undefined> } }).process;
  if (!proc?.versions?.node) throw new WebtrainError('WebGPU is not available in this runtime (no navigator.gpu, and not Node with the `webgpu` package)');
  proc.env.XDG_RUNTIME_DIR ??= '/tmp';
  let gpu = await nodeGpu();
  let adapter = await gpu.requestAdapter({ powerPreference });
  // No usable Vulkan driver (none, or one too old for Dawn, like Debian 12's lavapipe): fall back to
  // Chromium's SwiftShader when it is installed. The Vulkan loader reads the variable per instance.
  if (!adapter && !proc.env.VK_ICD_FILENAMES && !proc.env.VK_DRIVER_FILES && (await fileExists(SWIFTSHADER_ICD))) {
    proc.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    gpu = await nodeGpu();
    adapter = await gpu.requestAdapter({ powerPreference });
  }
  if (!adapter) throw new WebtrainError(NO_ADAPTER);
  return { adapter, gpu };
}

/**
 * Dawn's GPU objects, kept referenced: dawn.node crashes the process if one is garbage collected
 * while its adapters and devices live.
 */
const nodeGpus: GPU[] = [];

async function nodeGpu(): Promise<GPU> {
  // A variable specifier keeps bundlers from resolving the Node-only package into browser builds.
  const specifier = 'webgpu';
  const mod = (await import(/* @vite-ignore */ specifier)) as { create(flags: string[]): GPU };
  const gpu = mod.create([]);
  nodeGpus.push(gpu);
  return gpu;
}

async function fileExists(path: string): Promise<boolean> {
  const fsName = 'node:fs';
  const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs');
  return fs.existsSync(path);
}

function adapterInfo(adapter: GPUAdapter): Record<string, string> {
  const i = adapter.info;
  const out: Record<string, string> = {};
  for (const k of ['vendor', 'architecture', 'device', 'description'] as const) {
    const v = i?.[k];
    if (v) out[k] = String(v);
  }
  return out;
}
