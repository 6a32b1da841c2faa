/**
 * Turns a .wgsl file into WGSL for one set of defines, through wgsl-preprocessor:
 *  - `#if NAME` / `#elif NAME` lines test a define (the preprocessor only works on a template
 *    literal whose `#if` is immediately followed by a `${value}`: we build that form ourselves);
 *  - `{{NAME}}` is replaced by the define's text (types, expressions);
 *  - a `//! include common/name` line at the top pulls in shaders/common/name.wgsl;
 *  - directives (`enable`, `diagnostic`) move to the top, above the included snippets.
 * Results are cached per (shader, defines).
 */
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { SHADER_SOURCES } from './shader-sources';
import { KeyTrie } from './key-trie';

export type Defines = Record<string, boolean | string | number>;

const cache = new Map<string, string>();

export function shaderKey(name: string, defines: Defines): string {
  const keys = Object.keys(defines).sort();
  return `${name}|${keys.map((k) => `${k}=${defines[k]}`).join(';')}`;
}

/**
 * A map keyed by (shader, defines) that builds no string (see KeyTrie): its keys are the shader,
 * then the defines' names and values in insertion order. The same defines written in another order
 * are another entry (the same code, compiled twice); each op builds its defines one way.
 */
export class DefinesMap<V> {
  private readonly trie = new KeyTrie<V>();

  get(shader: string, defines: Defines): V | undefined {
    return this.walk(shader, defines, false).get();
  }

  set(shader: string, defines: Defines, value: V): void {
    this.walk(shader, defines, true).set(value);
  }

  delete(shader: string, defines: Defines): void {
    this.walk(shader, defines, false).delete();
  }

  private walk(shader: string, defines: Defines, create: boolean): KeyTrie<V> {
    const trie = this.trie.from(create).key(shader);
    for (const name in defines) trie.key(name).key(defines[name]);
    return trie;
  }
}

export function loadShader(name: string, defines: Defines): string {
  const key = shaderKey(name, defines);
  let code = cache.get(key);
  if (code === undefined) {
    code = preprocess(name, sourceOf(name), defines);
    cache.set(key, code);
  }
  return code;
}

function sourceOf(name: string): string {
  const src = SHADER_SOURCES[name];
  if (src === undefined) throw new Error(`shader '${name}' not found (known: ${Object.keys(SHADER_SOURCES).join(', ')})`);
  return src;
}

export function preprocess(name: string, source: string, defines: Defines): string {
  const includes: string[] = [];
  const body = source.replace(/^\/\/! include (\S+)\s*$/gm, (_, inc: string) => {
    includes.push(sourceOf(inc));
    return '';
  });
  const text = [...includes, body].join('\n').replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in defines)) throw new Error(`shader '${name}': define {{${k}}} has no value`);
    return String(defines[k]);
  });
  // Split at `#if NAME` / `#elif NAME` so each directive is followed by its define's value.
  const strings: string[] = [];
  const values: boolean[] = [];
  let last = 0;
  for (const m of text.matchAll(/#(if|elif)[ \t]+(!?)(\w+)/g)) {
    strings.push(text.slice(last, m.index) + `#${m[1]} `);
    const v = Boolean(defines[m[3]]);
    values.push(m[2] === '!' ? !v : v);
    last = m.index! + m[0].length;
  }
  strings.push(text.slice(last));
  const raw = Object.assign([...strings], { raw: strings });
  return hoistDirectives(wgsl(raw as unknown as TemplateStringsArray, ...values));
}

/**
 * WGSL wants its directives (`enable subgroups;`, `diagnostic(...)`) before any declaration, but a
 * kernel's own directives come after the `common/` snippets prepended to it (and only under some
 * defines): move them to the top.
 */
function hoistDirectives(code: string): string {
  const directives: string[] = [];
  const rest = code.replace(/^[ \t]*(?:enable|requires|diagnostic)\b[^;\n]*;[ \t]*$/gm, (line) => {
    directives.push(line.trim());
    return '';
  });
  return directives.length ? `${directives.join('\n')}\n${rest}` : code;
}
