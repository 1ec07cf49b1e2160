import { usdToMicros, ValidationError } from '@haldir/core'
import { invalidRequest } from './haldir-api-error.ts'
import { pythonTypeName } from './validate-body.ts'

/** Upstream's default session scopes (absent, or an empty list). */
export const DEFAULT_SESSION_SCOPES = ['read', 'browse']

export interface TranslatedScopes {
  /** What the session holds here (our scope patterns). */
  granted: string[]
  /** What upstream stores and returns: each scope cut at its first `:`, in order, duplicates kept. */
  reported: string[]
  /** The limit the last well-formed `spend:N` sets, in micro-dollars; `undefined` when none does. */
  spendLimitMicros: number | undefined
}

/**
 * Upstream session scopes (`HALDIR-API.md` §5.1) as ours, never wider than upstream grants and
 * never wider than what was written:
 * - `read` (no colon) grants `read` and `read:anything`, as upstream: `read` and `read:*`;
 * - `admin` grants every scope, as upstream: `*`;
 * - `spend:N` grants `spend` (paying) and sets the limit (the last well-formed one wins; an
 *   unparsable N sets none, as upstream). A negative N (upstream: unlimited) is refused, and so
 *   is an N with more than 6 decimals;
 * - `db:write` (a colon) grants exactly `db:write`. Upstream keeps only `db`, which would also
 *   grant `db:admin`: here a scope is never wider than written;
 * - `*` is refused (upstream stores it as a plain name; here it would mean everything).
 * Absent or empty: `['read', 'browse']`.
 */
export function translateSessionScopes(input: unknown): TranslatedScopes {
  if (input !== undefined && !Array.isArray(input)) throw invalidRequest('scopes', `expected list, got ${pythonTypeName(input)}`)
  const scopes = input === undefined || input.length === 0 ? DEFAULT_SESSION_SCOPES : (input as unknown[])
  const granted: string[] = []
  const reported: string[] = []
  let spendLimitMicros: number | undefined
  for (const scope of scopes) {
    if (typeof scope !== 'string') throw invalidRequest('scopes', `expected str, got ${pythonTypeName(scope)}`)
    if (scope.includes('*')) throw invalidRequest('scopes', `'*' is not a session scope here; 'admin' grants every scope`)
    const colon = scope.indexOf(':')
    const head = colon < 0 ? scope : scope.slice(0, colon)
    reported.push(head)
    if (head === 'spend') {
      granted.push('spend')
      const amount = colon < 0 ? Number.NaN : Number(scope.slice(colon + 1).trim())
      if (colon >= 0 && scope.slice(colon + 1).trim() !== '' && Number.isFinite(amount)) {
        if (amount < 0) throw invalidRequest('scopes', `spend limit must be >= 0, got '${scope.slice(0, 40)}'`)
        try {
          spendLimitMicros = usdToMicros(amount, 'spend')
        } catch (error) {
          if (ValidationError.isInstance(error)) throw invalidRequest('scopes', `spend limit '${scope.slice(0, 40)}': ${error.issues[0]?.message ?? 'not a USD amount'}`)
          throw error
        }
      }
    } else if (scope === 'admin') granted.push('*')
    else if (colon < 0) granted.push(scope, `${scope}:*`)
    else granted.push(scope)
  }
  return { granted: [...new Set(granted)], reported, spendLimitMicros }
}

/** What upstream reports for scopes we hold, when the reported form was not kept: each pattern as upstream would have stored it. */
export function reportedScopes(granted: readonly string[]): string[] {
  const out: string[] = []
  for (const scope of granted) {
    if (scope === '*') out.push('admin')
    else if (scope.endsWith(':*') && granted.includes(scope.slice(0, -2))) continue
    else out.push(scope.split(':')[0] as string)
  }
  return out
}
