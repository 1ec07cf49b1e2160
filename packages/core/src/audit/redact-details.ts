import { ValidationError } from '../errors/validation-error.ts'

export const REDACTED = '[REDACTED]'

export interface RedactOptions {
  /** Lower-case keys whose values are replaced at any depth. */
  keys: ReadonlySet<string>
  /** Values replaced wherever they occur inside a string. */
  secretValues: ReadonlySet<string>
}

/**
 * Turns audit details into the plain JSON that is stored and hashed, in one pass: configured
 * keys (any depth, case-insensitive) and known secret values (inside any string) are replaced,
 * and values are converted as `JSON.stringify` would (`toJSON`, dropped `undefined`, bigint as
 * a string), so a backend that round-trips details through a database or the wire hashes the
 * very same value. A cycle is a {@link ValidationError}.
 */
export function redactDetails(details: Record<string, unknown>, options: RedactOptions): Record<string, unknown> {
  const out = toJson(details, options, [], 'details')
  if (out === null || typeof out !== 'object' || Array.isArray(out)) {
    throw new ValidationError({ issues: [{ path: 'details', message: 'must be a plain object' }] })
  }
  return out as Record<string, unknown>
}

function toJson(value: unknown, options: RedactOptions, ancestors: object[], path: string): unknown {
  switch (typeof value) {
    case 'string': {
      // NUL cannot be stored by every backend (PostgreSQL JSON); replace it before it is hashed.
      const text = value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value
      return options.secretValues.size === 0 ? text : scrub(text, options.secretValues)
    }
    case 'number':
      return Number.isFinite(value) ? value : null
    case 'boolean':
      return value
    case 'bigint':
      return value.toString()
    case 'object':
      break
    default:
      return undefined
  }
  if (value === null) return null
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return toJson((value as { toJSON(): unknown }).toJSON(), options, ancestors, path)
  }
  if (ancestors.includes(value)) throw new ValidationError({ issues: [{ path, message: 'must not contain a cycle' }] })
  ancestors.push(value)
  let out: unknown
  if (Array.isArray(value)) {
    out = value.map((item, index) => toJson(item, options, ancestors, `${path}.${index}`) ?? null)
  } else {
    const record: Record<string, unknown> = {}
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      const member = options.keys.has(key.toLowerCase()) ? REDACTED : toJson((value as Record<string, unknown>)[key], options, ancestors, `${path}.${key}`)
      if (member !== undefined) record[key] = member
    }
    out = record
  }
  ancestors.pop()
  return out
}

function scrub(text: string, secrets: ReadonlySet<string>): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED)
  return out
}
