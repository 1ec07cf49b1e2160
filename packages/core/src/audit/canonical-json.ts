import { jsonString } from './json-string.ts'

/**
 * JSON with object keys sorted at every depth, so the same entry always hashes the same no
 * matter which backend (or JSON column type) stored it. `undefined` members are dropped, as
 * `JSON.stringify` does.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return jsonString(value)
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value)
    return text === undefined ? 'null' : text
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return canonicalJson((value as { toJSON(): unknown }).toJSON())
  const record = value as Record<string, unknown>
  const keys = Object.keys(record)
  if (keys.length === 0) return '{}'
  keys.sort()
  let out = '{'
  let first = true
  for (const key of keys) {
    const member = record[key]
    if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue
    out += `${first ? '' : ','}${jsonString(key)}:${canonicalJson(member)}`
    first = false
  }
  return `${out}}`
}
