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

interface Walk {
  options: RedactOptions
  ancestors: object[]
  /** The keys and indexes from `details` to the value at hand: its path, made into text only for an error. */
  keys: (string | number)[]
  /** Roughly the JSON size so far (strings and keys counted by length, plus a little per value and per object or array). */
  size: number
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
  const walk: QuickWalk = { options, size: 0, known: undefined, json: 0, lost: false, counting: measure !== undefined }
  if (measure) measure.jsonLength = -1
  try {
    out = quickJson(details, walk, 0)
    if (measure) measure.jsonLength = walk.lost ? -1 : walk.json
  } catch {
    // The quick walk stops at anything that makes details invalid (too deep, a cycle, too large,
    // a getter or `toJSON` that throws); this one finds the same fault and names its path. No
    // length, set last: a getter or `toJSON` may have cleaned other details into the same measure.
    try {
      out = toJson(details, { options, ancestors: [], keys: [], size: 0 })
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

/** What the quick walk keeps: no path and no ancestors, so it costs little on every call. */
interface QuickWalk {
  /** `JSON.stringify` length of what was converted so far. */
  json: number
  /** Set where the count cannot be trusted (keys that collide once normalised). */
  lost: boolean
  /** Whether `json` is counted at all (the caller asked for it). */
  counting: boolean
  options: RedactOptions
  size: number
  /** The classified keys of `options.keys` when it is fixed (`null`: not), looked up on the first key. */
  known: Map<string, number> | null | undefined
}

/**
 * `toJson` for details that are valid, which nearly all are: the same conversion, counted the
 * same, but a cycle is caught by the depth limit and every fault is thrown as it comes (the
 * caller then walks again with `toJson` for the error that names the path).
 */
function quickJson(value: unknown, walk: QuickWalk, depth: number): unknown {
  switch (typeof value) {
    case 'string': {
      if ((walk.size += value.length + 2) > MAX_DETAILS_BYTES) throw TOO_LARGE
      const normal = normalizeText(value)
      const text = walk.options.secretValues.size === 0 ? normal : scrub(normal, walk.options.secretValues)
      if (walk.counting) walk.json += jsonTextLength(text)
      return text
    }
    case 'number':
      if ((walk.size += 8) > MAX_DETAILS_BYTES) throw TOO_LARGE
      if (!Number.isFinite(value)) {
        walk.json += 4
        return null
      }
      // Counted only when asked for: a number's text is most of what counting costs.
      if (walk.counting) walk.json += String(value).length
      return value
    case 'boolean':
      if ((walk.size += 5) > MAX_DETAILS_BYTES) throw TOO_LARGE
      walk.json += value ? 4 : 5
      return value
    case 'bigint':
      return quickJson(value.toString(), walk, depth)
    case 'object':
      break
    default:
      return undefined
  }
  if (value === null) {
    walk.json += 4
    return null
  }
  if (depth >= MAX_DETAILS_DEPTH) throw TOO_DEEP
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return quickJson((value as { toJSON(): unknown }).toJSON(), walk, depth)
  if ((walk.size += 2) > MAX_DETAILS_BYTES) throw TOO_LARGE
  if (Array.isArray(value)) {
    const items: unknown[] = new Array(value.length)
    // Brackets and commas; an item JSON leaves out is written `null`.
    walk.json += value.length === 0 ? 2 : value.length + 1
    for (let index = 0; index < value.length; index++) {
      const item = quickJson(value[index], walk, depth + 1)
      if (item === undefined) {
        walk.json += 4
        items[index] = null
      } else items[index] = item
    }
    return items
  }
  const record: Record<string, unknown> = {}
  // Braces; then per member its key, a colon and a comma before all but the first.
  let members = 0
  let renamed = false
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    if ((walk.size += key.length + 4) > MAX_DETAILS_BYTES) throw TOO_LARGE
    const kind = keyKind(walk, key)
    const converted = kind === KEY_REDACTED ? REDACTED : quickJson((value as Record<string, unknown>)[key], walk, depth + 1)
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
  return record
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

function keyKind(walk: QuickWalk, key: string): number {
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

// Thrown by the quick walk only to hand over to `toJson`, which reports the fault itself.
const TOO_LARGE = new Error('details too large')
const TOO_DEEP = new Error('details too deep')

function pathOf(walk: Walk): string {
  return walk.keys.length === 0 ? 'details' : `details.${walk.keys.join('.')}`
}

function toJson(value: unknown, walk: Walk): unknown {
  switch (typeof value) {
    case 'string': {
      grow(walk, value.length + 2)
      const text = normalizeText(value)
      return walk.options.secretValues.size === 0 ? text : scrub(text, walk.options.secretValues)
    }
    case 'number':
      grow(walk, 8)
      return Number.isFinite(value) ? value : null
    case 'boolean':
      grow(walk, 5)
      return value
    case 'bigint':
      return toJson(value.toString(), walk)
    case 'object':
      break
    default:
      return undefined
  }
  if (value === null) return null
  if (walk.ancestors.length >= MAX_DETAILS_DEPTH) {
    throw new ValidationError({ issues: [{ path: pathOf(walk), message: `nests deeper than ${MAX_DETAILS_DEPTH} levels` }] })
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    let converted: unknown
    try {
      converted = (value as { toJSON(): unknown }).toJSON()
    } catch (error) {
      throw new ValidationError({ issues: [{ path: pathOf(walk), message: `its toJSON() threw: ${errorMessage(error)}` }], cause: error })
    }
    return toJson(converted, walk)
  }
  if (walk.ancestors.includes(value)) throw new ValidationError({ issues: [{ path: pathOf(walk), message: 'must not contain a cycle' }] })
  // Its brackets: and an object reached many times over (shared, not a cycle) is counted each
  // time, so details that reuse one array at every level stop at the size limit, not 2^32 visits.
  grow(walk, 2)
  walk.ancestors.push(value)
  let out: unknown
  if (Array.isArray(value)) {
    const items: unknown[] = new Array(value.length)
    for (let index = 0; index < value.length; index++) {
      walk.keys.push(index)
      items[index] = toJson(value[index], walk) ?? null
      walk.keys.pop()
    }
    out = items
  } else {
    const record: Record<string, unknown> = {}
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      grow(walk, key.length + 4)
      walk.keys.push(key)
      let member: unknown
      try {
        member = (value as Record<string, unknown>)[key]
      } catch (error) {
        throw new ValidationError({ issues: [{ path: pathOf(walk), message: `reading it threw: ${errorMessage(error)}` }], cause: error })
      }
      const converted = walk.options.keys.has(key.toLowerCase()) ? REDACTED : toJson(member, walk)
      walk.keys.pop()
      if (converted !== undefined) record[normalizeText(key)] = converted
    }
    out = record
  }
  walk.ancestors.pop()
  return out
}

function grow(walk: Walk, bytes: number): void {
  walk.size += bytes
  if (walk.size > MAX_DETAILS_BYTES) throw new ValidationError({ issues: [{ path: pathOf(walk), message: `details are larger than ${MAX_DETAILS_BYTES} bytes` }] })
}

function scrub(text: string, secrets: ReadonlySet<string>): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  return out
}
