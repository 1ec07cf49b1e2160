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
  /** Roughly the JSON size so far (strings and keys counted by length, plus a little per value). */
  size: number
}

/**
 * Turns audit details into the plain JSON that is stored and hashed, in one pass: configured
 * keys (any depth, case-insensitive) and known secret values (inside any string) are replaced;
 * values are converted as `JSON.stringify` would (`toJSON`, dropped `undefined`, bigint as a
 * string); keys and strings are normalised as every store keeps them (lone surrogates and NUL
 * become U+FFFD), so what is hashed is exactly what a database or the wire gives back. A cycle,
 * more than {@link MAX_DETAILS_DEPTH} levels, more than {@link MAX_DETAILS_BYTES}, or a getter or
 * `toJSON` that throws is a {@link ValidationError} naming the path.
 */
export function redactDetails(details: Record<string, unknown>, options: RedactOptions): Record<string, unknown> {
  const out = toJson(details, { options, ancestors: [], keys: [], size: 0 })
  if (out === null || typeof out !== 'object' || Array.isArray(out)) {
    throw new ValidationError({ issues: [{ path: 'details', message: 'must be a plain object' }] })
  }
  return out as Record<string, unknown>
}

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
