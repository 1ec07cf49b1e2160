import { randomUUID } from 'node:crypto'

/** Prefixed random ids (`ses_…`, `hold_…`, `aud_…`): readable in logs, unguessable across tenants. */
export function newId(prefix: 'ses' | 'hold' | 'aud'): string {
  return `${prefix}_${randomUUID()}`
}
