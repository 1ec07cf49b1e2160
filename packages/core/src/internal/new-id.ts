/** The kinds of ids Haldir mints; the prefix makes each readable in logs. */
export type IdPrefix = 'ses' | 'hold' | 'aud' | 'apr' | 'rul' | 'evt'

/**
 * Prefixed random ids (`ses_…`, `hold_…`, `aud_…`): readable in logs, unguessable across tenants.
 * Web Crypto's `randomUUID`, so the same code runs on Node, Bun, Deno and edge runtimes.
 */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${crypto.randomUUID()}`
}
