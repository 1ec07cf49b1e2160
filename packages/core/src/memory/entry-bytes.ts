/** Bytes per chunk: a few thousand entries each, allocated outside the JavaScript heap. */
const CHUNK_BYTES = 4 * 1024 * 1024
// A location is `chunk * CHUNK_SPAN + offset`: exact in a double for any number of chunks.
const CHUNK_SPAN = 2 ** 32
const HASH_BYTES = 64
// Standard Web APIs, so the memory backend runs wherever core does (Node, Deno, Bun, edge, browsers).
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The sealed entries of a memory store as bytes: each entry's canonical body (UTF-8), its hash and
 * its id, one after the other in large buffers outside the JavaScript heap, found by a number.
 *
 * A long-lived process keeps every entry it wrote. As objects (or even as strings), each is more
 * for the garbage collector to copy when it survives and to mark at every major collection, and
 * the marking steps land inside governed calls. Here an entry is a few slots of typed arrays; the
 * collector sees one buffer per few thousand entries.
 */
export class EntryBytes {
  readonly #chunks: Uint8Array[] = []
  #chunk: Uint8Array | null = null
  #used = 0
  // Per entry: where its bytes start, how many the body takes, how many the id takes.
  #starts = new Float64Array(1024)
  #bodyBytes = new Uint32Array(1024)
  #idBytes = new Uint32Array(1024)
  #count = 0

  /** Keeps an entry's body, hash (64 hex characters) and id; returns the number it is found by. */
  add(body: string, hash: string, id: string): number {
    // Room for the worst case (3 bytes of UTF-8 per UTF-16 code unit), so no write is ever cut short.
    const room = 3 * (body.length + id.length) + HASH_BYTES
    let chunk = this.#chunk
    if (chunk === null || this.#used + room > chunk.length) {
      chunk = new Uint8Array(Math.max(CHUNK_BYTES, room))
      this.#chunks.push(chunk)
      this.#chunk = chunk
      this.#used = 0
    }
    const start = this.#used
    const bodyBytes = encoder.encodeInto(body, chunk.subarray(start)).written
    encoder.encodeInto(hash, chunk.subarray(start + bodyBytes, start + bodyBytes + HASH_BYTES))
    const idBytes = encoder.encodeInto(id, chunk.subarray(start + bodyBytes + HASH_BYTES)).written
    this.#used = start + bodyBytes + HASH_BYTES + idBytes
    const handle = this.#count++
    if (handle === this.#starts.length) this.#grow()
    this.#starts[handle] = (this.#chunks.length - 1) * CHUNK_SPAN + start
    this.#bodyBytes[handle] = bodyBytes
    this.#idBytes[handle] = idBytes
    return handle
  }

  body(handle: number): string {
    const start = this.#startOf(handle)
    return decoder.decode(this.#chunkOf(handle).subarray(start, start + (this.#bodyBytes[handle] as number)))
  }

  hash(handle: number): string {
    const start = this.#startOf(handle) + (this.#bodyBytes[handle] as number)
    return decoder.decode(this.#chunkOf(handle).subarray(start, start + HASH_BYTES))
  }

  id(handle: number): string {
    const start = this.#startOf(handle) + (this.#bodyBytes[handle] as number) + HASH_BYTES
    return decoder.decode(this.#chunkOf(handle).subarray(start, start + (this.#idBytes[handle] as number)))
  }

  #startOf(handle: number): number {
    return (this.#starts[handle] as number) % CHUNK_SPAN
  }

  #chunkOf(handle: number): Uint8Array {
    return this.#chunks[Math.floor((this.#starts[handle] as number) / CHUNK_SPAN)] as Uint8Array
  }

  #grow(): void {
    const size = this.#starts.length * 2
    const starts = new Float64Array(size)
    starts.set(this.#starts)
    this.#starts = starts
    const bodyBytes = new Uint32Array(size)
    bodyBytes.set(this.#bodyBytes)
    this.#bodyBytes = bodyBytes
    const idBytes = new Uint32Array(size)
    idBytes.set(this.#idBytes)
    this.#idBytes = idBytes
  }
}
