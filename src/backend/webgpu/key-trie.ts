/**
 * A map keyed by a sequence of values (objects by identity, numbers, strings, booleans) that builds
 * no key string: a trie of Maps, walked one key at a time. The pipeline and bind-group caches are
 * looked up on every dispatch, where building and hashing a key string cost ~30% of a small op's
 * host time.
 *
 *     cache.from(true).key(pipeline).key(buffer).key(offset).set(value);   // from(false) to look up only
 */
export class KeyTrie<V> {
  private readonly root = new Map<unknown, unknown>();
  private node: Map<unknown, unknown> | undefined;
  private creating = false;
  /** Values stored. */
  size = 0;

  /** Starts a walk at the root; with `create`, missing nodes are added on the way (for set). */
  from(create: boolean): this {
    this.node = this.root;
    this.creating = create;
    return this;
  }

  /** Steps along the next key of the sequence. */
  key(k: unknown): this {
    const node = this.node;
    if (node) {
      let next = node.get(k) as Map<unknown, unknown> | undefined;
      if (!next && this.creating) node.set(k, (next = new Map()));
      this.node = next;
    }
    return this;
  }

  /** The value stored at the end of the walk. */
  get(): V | undefined {
    return this.node?.get(LEAF) as V | undefined;
  }

  /** Stores a value at the end of a walk started with from(true). */
  set(value: V): void {
    if (!this.node) throw new Error('KeyTrie.set: the walk did not start with from(true)');
    if (!this.node.has(LEAF)) this.size++;
    this.node.set(LEAF, value);
  }

  delete(): void {
    if (this.node?.delete(LEAF)) this.size--;
  }

  clear(): void {
    this.root.clear();
    this.size = 0;
  }
}

const LEAF = Symbol('leaf');
