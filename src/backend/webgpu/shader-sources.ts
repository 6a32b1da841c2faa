/**
 * Every shader as a string, keyed by its path without `.wgsl` ('matmul', 'common/philox'). Vite
 * inlines them at build time (`?raw`), so the one build serves browsers, Node and Deno.
 */
const files = import.meta.glob('../../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;

export const SHADER_SOURCES: Record<string, string> = Object.fromEntries(
  Object.entries(files).map(([path, code]) => [path.replace(/^(\.\.\/)+shaders\//, '').replace(/\.wgsl$/, ''), code]),
);
