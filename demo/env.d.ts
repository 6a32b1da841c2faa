// Types of the demo's virtual module (demo/mnist-plugin.ts) and of the test hook on window.

declare module 'virtual:mnist-subset' {
  /** Number of digits (300 of each, in digit order). */
  export const count: number;
  /** 784: 28 × 28. */
  export const pixels: number;
  /** Base64 of count × 784 bytes, grey levels 0..255, row-major. */
  export const images: string;
  /** Base64 of count bytes, the digits 0..9. */
  export const labels: string;
}
