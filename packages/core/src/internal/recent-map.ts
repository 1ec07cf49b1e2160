/**
 * A map that remembers at least the last `max / 2` and at most the last `max` entries, for
 * results kept only so a retry gets the same answer (settled holds). Two generations of plain
 * maps: when the young one fills, the old one is dropped whole. Nothing moves on a read and
 * nothing is deleted one by one (V8 maps slow down under steady single deletions), so the hot
 * path stays cheap.
 */
export class RecentMap<K, V> {
  #young = new Map<K, V>()
  #old = new Map<K, V>()
  readonly #generation: number

  constructor(max: number) {
    this.#generation = Math.max(1, Math.floor(max / 2))
  }

  get(key: K): V | undefined {
    return this.#young.get(key) ?? this.#old.get(key)
  }

  set(key: K, value: V): void {
    if (this.#young.size >= this.#generation) {
      this.#old = this.#young
      this.#young = new Map()
    }
    this.#young.set(key, value)
  }
}
