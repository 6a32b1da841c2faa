// wgsl-preprocessor ships no types (and no package entry point): this is its one export.
declare module 'wgsl-preprocessor/wgsl-preprocessor.js' {
  export function wgsl(strings: TemplateStringsArray, ...values: unknown[]): string;
}

// wgsl_reflect's ES module build (its "main" is CommonJS inside a "type": "module" package).
declare module 'wgsl_reflect/wgsl_reflect.module.js' {
  export { WgslReflect } from 'wgsl_reflect';
}
