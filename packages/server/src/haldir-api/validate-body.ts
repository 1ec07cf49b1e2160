import { invalidRequest } from './haldir-api-error.ts'

/** The rule of one field of a validated body, in upstream's vocabulary (`str`, `int`, `float`, `list`). */
export interface FieldRule {
  type: 'str' | 'int' | 'float' | 'list' | 'bool'
  required?: boolean
  /** Filled in when the field is absent (never when it is `null`: an explicit `null` is a wrong type). */
  default?: unknown
  min?: number
  max?: number
  maxLength?: number
}

/** The Python type name upstream's messages use for a JSON value. */
export function pythonTypeName(value: unknown): string {
  if (value === null) return 'NoneType'
  if (typeof value === 'string') return 'str'
  if (typeof value === 'boolean') return 'bool'
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float'
  if (Array.isArray(value)) return 'list'
  return 'dict'
}

/**
 * Validates a body field by field, in the order given, the way upstream's `@validate_body`
 * does: the first failing field wins, with its messages (`field is required`, `expected int,
 * got float`, `must be >= 0`, `must be <= 2592000`, `length exceeds 128`), as a 400
 * `invalid_request` naming the field. A body that is not an object fails on `body`. Unknown
 * fields are dropped. `float` takes any JSON number (an int is a float), never a boolean.
 */
export function validateBody(body: unknown, rules: Readonly<Record<string, FieldRule>>): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidRequest('body', `expected dict, got ${pythonTypeName(body)}`)
  const record = body as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const [field, rule] of Object.entries(rules)) {
    if (!(field in record) || record[field] === undefined) {
      if (rule.required) throw invalidRequest(field, 'field is required')
      if ('default' in rule) out[field] = rule.default
      continue
    }
    const value = record[field]
    const type = pythonTypeName(value)
    const fits = rule.type === 'float' ? type === 'int' || type === 'float' : type === rule.type
    if (!fits) throw invalidRequest(field, `expected ${rule.type}, got ${type}`)
    if (typeof value === 'number') {
      if (rule.min !== undefined && value < rule.min) throw invalidRequest(field, `must be >= ${rule.min}`)
      if (rule.max !== undefined && value > rule.max) throw invalidRequest(field, `must be <= ${rule.max}`)
    }
    if (typeof value === 'string' && rule.maxLength !== undefined && value.length > rule.maxLength) throw invalidRequest(field, `length exceeds ${rule.maxLength}`)
    out[field] = value
  }
  return out
}
