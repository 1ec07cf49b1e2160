import { ValidationError } from '../errors/validation-error.ts'
import { errorMessage } from '../internal/error-message.ts'
import { normalizeText } from '../internal/well-formed-text.ts'

export const REDACTED = '[REDACTED]'

/** Deeper details are refused: nothing an agent records needs more, and recursion must stay bounded. */
export const MAX_DETAILS_DEPTH = 32
/** Larger details are refused: an entry is a record of a call, not its payload (about the JSON size). */
export const MAX_DETAILS_BYTES = 64 * 1024

export interface RedactOptions {
  /** Lower-case keys whose values are replaced at any depth. */
  keys: ReadonlySet<string>
  /** Values replaced wherever they occur inside a string. */
  secretValues: ReadonlySet<string>
}

/**
 * Turns audit details into the plain JSON that is stored and hashed, in one pass: configured
 * keys (any depth, case-insensitive) and known secret values (inside any string) are replaced;
 * values are converted as `JSON.stringify` would (`toJSON`, dropped `undefined`, bigint as a
 * string); keys and strings are normalised as every store keeps them (lone surrogates and NUL
 * become U+FFFD), so what is hashed is exactly what a database or the wire gives back. A cycle,
 * more than {@link MAX_DETAILS_DEPTH} levels, more than {@link MAX_DETAILS_BYTES}, or a getter or
 * `toJSON` that throws is a {@link ValidationError} naming the path. Given a `measure`, it
 * receives `JSON.stringify(result).length`, or -1 where it was not counted.
 */
export function redactDetails(details: Record<string, unknown>, options: RedactOptions, measure?: DetailsMeasure): Record<string, unknown> {
  let out: unknown
  const walk: Walk = { options, size: 0, known: undefined, json: 0, lost: false, counting: measure !== undefined, path: null }
  if (measure) measure.jsonLength = -1
  try {
    out = toJson(details, walk, 0)
    if (measure) measure.jsonLength = walk.lost ? -1 : walk.json
  } catch {
    // The quick walk stops at anything that makes details invalid (too deep, a cycle, too large,
    // a getter or `toJSON` that throws); the same walk again, keeping its path, finds the fault
    // and names where it is. No length, set last: a getter or `toJSON` may have cleaned other
    // details into the same measure.
    try {
      out = toJson(details, { options, size: 0, known: undefined, json: 0, lost: false, counting: false, path: { ancestors: [], keys: [] } }, 0)
    } finally {
      if (measure) measure.jsonLength = -1
    }
  }
  if (out === null || typeof out !== 'object' || Array.isArray(out)) {
    throw new ValidationError({ issues: [{ path: 'details', message: 'must be a plain object' }] })
  }
  return out as Record<string, unknown>
}

/**
 * Where `redactDetails` reports `JSON.stringify(result).length`, counted as it walks (a store
 * sizing an entry need not serialise the details again); -1 when it could not count it.
 */
export interface DetailsMeasure {
  jsonLength: number
}

/**
 * One walk over details. The quick one (`path: null`, nearly every call) keeps no path: a cycle
 * is caught by the depth limit, and a fault is thrown as it comes. The one that follows a fault
 * keeps the path, to find it again and name where it is.
 */
interface Walk {
  options: RedactOptions
  /** Roughly the JSON size so far (strings and keys counted by length, plus a little per value and per object or array). */
  size: number
  /** The classified keys of `options.keys` when it is fixed (`null`: not), looked up on the first key. */
  known: Map<string, number> | null | undefined
  /** `JSON.stringify` length of what was converted so far. */
  json: number
  /** Set where the count cannot be trusted (keys that collide once normalised). */
  lost: boolean
  /** Whether `json` is counted at all (the caller asked for it). */
  counting: boolean
  /** The objects and the keys and indexes from `details` to the value at hand, on the walk that names a fault. */
  path: { ancestors: object[]; keys: (string | number)[] } | null
}

function toJson(value: unknown, walk: Walk, depth: number): unknown {
  switch (typeof value) {
    case 'string': {
      grow(walk, value.length + 2)
      const normal = normalizeText(value)
      const text = walk.options.secretValues.size === 0 ? normal : scrub(normal, walk.options.secretValues)
      if (walk.counting) walk.json += jsonTextLength(text)
      return text
    }
    case 'number':
      grow(walk, 8)
      if (!Number.isFinite(value)) {
        walk.json += 4
        return null
      }
      // Counted only when asked for: a number's text is most of what counting costs.
      if (walk.counting) walk.json += String(value).length
      return value
    case 'boolean':
      grow(walk, 5)
      walk.json += value ? 4 : 5
      return value
    case 'bigint':
      return toJson(value.toString(), walk, depth)
    case 'object':
      break
    default:
      return undefined
  }
  if (value === null) {
    walk.json += 4
    return null
  }
  const path = walk.path
  if (depth >= MAX_DETAILS_DEPTH) fault(walk, `nests deeper than ${MAX_DETAILS_DEPTH} levels`)
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    if (path === null) return toJson((value as { toJSON(): unknown }).toJSON(), walk, depth)
    let converted: unknown
    try {
      converted = (value as { toJSON(): unknown }).toJSON()
    } catch (error) {
      fault(walk, `its toJSON() threw: ${errorMessage(error)}`, error)
    }
    return toJson(converted, walk, depth)
  }
  if (path !== null && path.ancestors.includes(value)) fault(walk, 'must not contain a cycle')
  // Its brackets: and an object reached many times over (shared, not a cycle) is counted each
  // time, so details that reuse one array at every level stop at the size limit, not 2^32 visits.
  grow(walk, 2)
  path?.ancestors.push(value)
  let out: unknown
  if (Array.isArray(value)) {
    const items: unknown[] = new Array(value.length)
    // Brackets and commas; an item JSON leaves out is written `null`.
    walk.json += value.length === 0 ? 2 : value.length + 1
    for (let index = 0; index < value.length; index++) {
      path?.keys.push(index)
      const item = toJson(value[index], walk, depth + 1)
      path?.keys.pop()
      if (item === undefined) {
        walk.json += 4
        items[index] = null
      } else items[index] = item
    }
    out = items
  } else {
    const record: Record<string, unknown> = {}
    // Braces; then per member its key, a colon and a comma before all but the first.
    let members = 0
    let renamed = false
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      grow(walk, key.length + 4)
      path?.keys.push(key)
      const kind = keyKind(walk, key)
      const converted = kind === KEY_REDACTED ? REDACTED : toJson(memberOf(value as Record<string, unknown>, key, walk), walk, depth + 1)
      path?.keys.pop()
      if (converted === undefined) continue
      const name = kind === KEY_PLAIN ? key : normalizeText(key)
      // Two keys made one by normalising, or `__proto__` (which an assignment does not add): the
      // count would be off, so none is reported.
      if (name !== key) renamed = true
      if (name === '__proto__' || (renamed && Object.hasOwn(record, name))) walk.lost = true
      record[name] = converted
      if (walk.counting) walk.json += (kind === KEY_REDACTED ? REDACTED_JSON_LENGTH : 0) + jsonTextLength(name) + (members++ === 0 ? 1 : 2)
    }
    walk.json += 2
    out = record
  }
  path?.ancestors.pop()
  return out
}

/** `record[key]`; a getter that throws is a fault (named on the walk that keeps the path). */
function memberOf(record: Record<string, unknown>, key: string, walk: Walk): unknown {
  if (walk.path === null) return record[key]
  try {
    return record[key]
  } catch (error) {
    return fault(walk, `reading it threw: ${errorMessage(error)}`, error)
  }
}

const REDACTED_JSON_LENGTH = REDACTED.length + 2

/** `JSON.stringify(text).length` for text with no lone surrogate (normalised): quotes, and escapes where JSON needs them. */
function jsonTextLength(text: string): number {
  // A long text is measured natively (one fast scan); a short one by hand (no string made).
  if (text.length > 64) return JSON.stringify(text).length
  let length = text.length + 2
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index)
    if (code === 34 || code === 92) length += 1
    else if (code < 32) length += code === 8 || code === 9 || code === 10 || code === 12 || code === 13 ? 1 : 5
  }
  return length
}

const KEY_PLAIN = 0
const KEY_REDACTED = 1
const KEY_UNSTORABLE = 2
// Keys already classified, per set of redacted keys: details repeat the same few keys on every
// call, and a key's `toLowerCase` (a new string whenever it has a capital) and text check cost
// more than the lookup. Bounded: past the limit the memory starts over.
const MAX_KNOWN_KEYS = 4096
const knownKeys = new WeakMap<ReadonlySet<string>, Map<string, number>>()

/**
 * A set of redacted keys (lower case) that nobody changes after this call: keys are classified
 * once for it. A set given to `redactDetails` any other way is read afresh on every key, since
 * its owner may add to it.
 */
export function fixedRedactKeys(keys: Iterable<string>): ReadonlySet<string> {
  const set = new Set<string>()
  for (const key of keys) set.add(key.toLowerCase())
  knownKeys.set(set, new Map())
  return set
}

function keyKind(walk: Walk, key: string): number {
  const known = walk.known === undefined ? (walk.known = knownKeys.get(walk.options.keys) ?? null) : walk.known
  let kind = known?.get(key)
  if (kind === undefined) {
    kind = walk.options.keys.has(key.toLowerCase()) ? KEY_REDACTED : normalizeText(key) === key ? KEY_PLAIN : KEY_UNSTORABLE
    if (known) {
      if (known.size >= MAX_KNOWN_KEYS) known.clear()
      known.set(key, kind)
    }
  }
  return kind
}

// What the quick walk throws at a fault: the walk that keeps the path finds it again and names it.
const QUICK_FAULT = new Error('details are not valid; walk again for where')

function fault(walk: Walk, message: string, cause?: unknown): never {
  if (walk.path === null) throw QUICK_FAULT
  const { keys } = walk.path
  throw new ValidationError({ issues: [{ path: keys.length === 0 ? 'details' : `details.${keys.join('.')}`, message }], ...(cause === undefined ? {} : { cause }) })
}

function grow(walk: Walk, bytes: number): void {
  walk.size += bytes
  if (walk.size > MAX_DETAILS_BYTES) fault(walk, `details are larger than ${MAX_DETAILS_BYTES} bytes`)
}

function scrub(text: string, secrets: ReadonlySet<string>): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  return out
}
