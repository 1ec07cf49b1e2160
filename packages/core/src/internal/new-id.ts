/** The kinds of ids Haldir mints; the prefix makes each readable in logs. */
export type IdPrefix = 'ses' | 'hold' | 'aud' | 'apr' | 'rul' | 'evt'

// Random bytes per kind, in upstream Haldir's formats: `ses_` + 32 url-safe characters (192
// bits), `aud_` + 22 (128 bits); holds like entries.
const randomBytes: Readonly<Record<IdPrefix, number>> = { ses: 24, hold: 16, aud: 16, apr: 16, rul: 12, evt: 16 }

/**
 * Prefixed random ids (`ses_…`, `hold_…`, `aud_…`): readable in logs, unguessable across
 * tenants, in the shapes upstream Haldir's clients know (`A–Z a–z 0–9 - _` after the prefix).
 * Web Crypto and `btoa`, so the same code runs on Node, Bun, Deno and edge runtimes.
 */
export function newId(prefix: IdPrefix): string {
  const bytes = crypto.getRandomValues(new Uint8Array(randomBytes[prefix]))
  return `${prefix}_${btoa(String.fromCharCode(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`
}
