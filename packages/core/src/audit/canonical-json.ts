import { jsonString } from './json-string.ts'

/**
 * JSON with object keys sorted at every depth, so the same entry always hashes the same no
 * matter which backend (or JSON column type) stored it. `undefined` members are dropped, as
 * `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return jsonString(value)
  // What JSON.stringify writes for a number (ToString when finite), at a fifth of its cost.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null'
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value)
    return text === undefined ? 'null' : text
  }
  if (Array.isArray(value)) {
    let out = '['
    for (let index = 0; index < value.length; index++) out += index === 0 ? canonicalJson(value[index]) : `,${canonicalJson(value[index])}`
    return `${out}]`
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON())
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 0) return '{}'
  // Most objects here were built in key order (the engine's own details are): sort only when not.
  for (let index = 1; index < keys.length; index++) {
    if ((keys[index - 1] as string) > (keys[index] as string)) {
      keys.sort()
      break
    }
  }
  let out = '{'
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string
    const member = record[key]
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue
    out += `${out.length === 1 ? '' : ','}${jsonString(key)}:${canonicalJson(member)}`
  }
  return `${out}}`
}

/**
 * Whether `canonicalJson(value)` lists every object's members in the order the object has them,
 * as `JSON.stringify` would: no keys out of order at any depth. A store that keeps the canonical
 * text, and parses it to read, tells from this whether the reader would see the caller's order.
 */
export function keysInOrder(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) if (!keysInOrder(value[index])) return false
    return true
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return keysInOrder((value as { toJSON(): unknown }).toJSON())
  const record = value as Record<string, unknown>
  // The keys canonicalJson lists, in the same order: Object.keys.
  const keys = Object.keys(record)
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string
    if (index > 0 && (keys[index - 1] as string) > key) return false
    const member = record[key]
    if (member !== null && typeof member === 'object' && !keysInOrder(member)) return false
  }
  return true
}
