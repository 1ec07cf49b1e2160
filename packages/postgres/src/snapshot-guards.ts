import type { HoldRecord, LoadedState, LoadRequest, SessionState } from '@haldir/core/backend'
import type { Tables } from './load-statements.ts'

/** The sessions an operation locks of what it loaded: a call on a slice (`lock: 'session'`) its own row alone, any other all of them. */
export function lockedSessions(load: LoadRequest | undefined, state: LoadedState): SessionState[] {
  return load?.lock === 'session' ? state.sessions.slice(0, 1) : state.sessions
}

/**
 * The statements that open a transaction decided on what this process remembers (one operation's
 * state, or a group's): each locks its rows and divides by zero unless they are still exactly the
 * remembered ones — the holds first, then the sessions with the tenant's config version, the order
 * every operation locks in. `null` when the states disagree on the config version (nothing to decide on).
 */
export function snapshotGuards(tables: Tables, tenant: string, states: readonly LoadedState[], loads: readonly LoadRequest[]): string[] | null {
  const sessions = new Map<string, SessionState>()
  const holds: HoldRecord[] = []
  const versions = new Set<string | null>()
  for (const [index, state] of states.entries()) {
    // A call on a slice decided on its own row alone, not on its ancestors' counters.
    for (const session of lockedSessions(loads[index], state)) sessions.set(session.record.id, session)
    if (state.hold) holds.push(state.hold)
    versions.add(state.configVersion)
  }
  if (versions.size !== 1) return null
  const rows = [...sessions.values()]
  const guards = [
    tables.prepared.guardSessions(
      tenant,
      [
        rows.map((row) => row.record.id),
        rows.map((row) => row.head.seq),
        rows.map((row) => row.head.hash),
        rows.map((row) => row.spentMicros),
        rows.map((row) => row.reservedMicros),
        rows.map((row) => row.record.revokedAt),
        rows.map((row) => row.usage),
        rows.map((row) => row.slice?.freeMicros ?? 0),
        rows.map((row) => row.slice?.spentMicros ?? 0),
        rows.map((row) => row.slice?.heldMicros ?? 0),
      ],
      [...versions][0] ?? null,
    ),
  ]
  if (holds.length > 0) guards.unshift(tables.prepared.guardHolds(tenant, [holds.map((hold) => hold.id), holds.map((hold) => hold.expiresAt), holds.map((hold) => hold.approval)]))
  return guards
}
