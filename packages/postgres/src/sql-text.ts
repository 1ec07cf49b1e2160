import pg from 'pg'

/** SQL text inserted as is (table names, already-built fragments). */
export class RawSql {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
}

export const raw = (text: string) => new RawSql(text)

/**
 * A value as a SQL literal. The transactions send several statements in one round trip (the
 * simple protocol, which takes no bind parameters), so values are inlined, escaped by pg's own
 * `escapeLiteral`. Numbers are the integer micro-dollars and milliseconds Haldir stores.
 */
export function literal(value: unknown): string {
  if (value instanceof RawSql) return value.text
  if (value === null || value === undefined) return 'null'
  switch (typeof value) {
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`refusing to inline the non-integer number ${value}`)
      return String(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'string':
      return pg.escapeLiteral(value)
    default:
      if (Array.isArray(value)) return `array[${value.map((item) => literal(String(item))).join(',')}]::text[]`
      return `${pg.escapeLiteral(JSON.stringify(value))}::jsonb`
  }
}

/** A tagged template that inlines every interpolated value with {@link literal}. */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): string {
  let text = strings[0] ?? ''
  for (let index = 0; index < values.length; index++) text += literal(values[index]) + (strings[index + 1] ?? '')
  return text
}
