import type { Changes, HoldRecord, LoadedState, LoadRequest, SessionState } from '@haldir/core/backend'
import { LRUCache } from 'lru-cache'
import type { Tables } from './load-statements.ts'
import { sql } from './sql-text.ts'
import { advanceSessions, copySession } from './advance-sessions.ts'

/**
 * What this process last knew of the rows it wrote: sessions (counters, head, usage), the holds
 * it opened, and each tenant's config version. An operation on a chain it knows is decided on
 * this snapshot and applied in **one round trip**: the transaction's first statement locks the
 * rows and checks they are still exactly the snapshot (else it fails, nothing is written, and the
 * operation runs the usual locked way). A decision made on rows proven unchanged under their
 * lock is the decision the locked path would make, so no invariant depends on the cache.
 */
export interface OptimisticState {
  /**
   * Starts an operation on what `load` names. Its `state` is the snapshot to decide on: `null`
   * when this process does not know every row, or when another operation of this process is
   * under way on the same sessions (its commit would fail this one's check: a crew's calls share
   * the crew's row, and deciding them all on one snapshot would waste a round trip each).
   */
  enter(load: LoadRequest): Operation
  /**
   * Starts the operations of a group: registered as one, so members sharing a row (a crew's)
   * still get snapshots and learn in their order after the group's one commit.
   */
  enterAll(loads: readonly LoadRequest[]): Operation[]
}

export interface Operation {
  readonly state: LoadedState | null
  /** The guard: the first statement of the one-round-trip transaction. Fails (division by zero) unless every row is still `state`. */
  guard(state: LoadedState): string
  /**
   * Learns the rows after this operation committed `changes` on `state` (locked or not). An
   * operation that overlapped another on the same sessions forgets them instead: which of the
   * two committed last is not known here, and a stale snapshot costs a failed check.
   */
  learn(state: LoadedState, changes: Changes): void
  /**
   * Registers the sessions of the state the locked path loaded (its chain may not have been known
   * at `enter`). Rows locked from load to commit make the commits of two operations on one row
   * come in load order, so an overlap of what is registered here is all `learn` must detect.
   */
  track(state: LoadedState): void
  /** Forgets what the operation names (its check failed: another process changed the rows). */
  forget(): void
  /** Ends the operation (always, whatever happened). */
  done(): void
}

export function optimisticState(tables: Tables): OptimisticState {
  const sessions = new LRUCache<string, SessionState>({ max: 50_000 })
  const holds = new LRUCache<string, HoldRecord>({ max: 50_000 })
  const configVersions = new LRUCache<string, { version: string | null }>({ max: 10_000 })
  const key = (tenant: string, id: string) => `${tenant}\u0000${id}`

  function chainOf(tenant: string, sessionId: string): SessionState[] | null {
    const own = sessions.get(key(tenant, sessionId))
    if (!own) return null
    const chain = [own]
    for (const id of own.ancestors) {
      const link = sessions.get(key(tenant, id))
      if (!link) return null
      chain.push(link)
    }
    return chain
  }

  /** Operations under way in this process, per session. */
  const busy = new Map<string, Set<{ shared: boolean }>>()
  /** Each session's ancestors (they never change), kept when its row is forgotten: busy is tracked per chain. */
  const ancestry = new LRUCache<string, readonly string[]>({ max: 100_000 })
  function chainIds(tenant: string, sessionId: string): string[] {
    const ancestors = ancestry.get(key(tenant, sessionId)) ?? []
    return [key(tenant, sessionId), ...ancestors.map((id) => key(tenant, id))]
  }

  function snapshot(load: LoadRequest): LoadedState | null {
    // Only what the snapshot can answer: a chain (or a session alone), a hold this process
    // opened, the config version. Idempotency records, secrets and subtrees take the locked path.
    if (load.idempotencyKey !== undefined || load.secretName !== undefined || load.sessions === 'subtree') return null
    if (!load.configVersion) return null
    const config = configVersions.get(load.tenant)
    if (!config) return null
    let chain: SessionState[] = []
    if (load.sessionId !== undefined && load.sessions !== undefined) {
      const found = chainOf(load.tenant, load.sessionId)
      if (!found) return null
      chain = load.sessions === 'self' ? found.slice(0, 1) : found
    }
    let hold: HoldRecord | null = null
    if (load.holdId !== undefined) {
      hold = holds.get(key(load.tenant, load.holdId)) ?? null
      if (!hold || hold.closed !== null) return null
    }
    // Holds whose lease ended are not known here: a decision they could change (a budget
    // refusal) is never applied from a snapshot, and the locked path or the sweep releases them.
    return { sessions: chain, hold, closingEntry: null, idempotency: null, idempotencyHold: null, secret: null, expiredHolds: [], configVersion: config.version }
  }

  function guard(load: LoadRequest, state: LoadedState): string {
    const checks: string[] = []
    if (state.sessions.length > 0) {
      const rows = state.sessions.map(
        (session) =>
          sql`(${session.record.id}, ${session.head.seq}::bigint, ${session.head.hash}, ${session.spentMicros}::bigint, ${session.reservedMicros}::bigint, ${session.record.revokedAt}::bigint, ${session.usage}::jsonb)`,
      )
      checks.push(
        `(select count(*) from (select 1 from ${tables.sessions.text} s join (values ${rows.join(', ')}) as v(id, seq, head, spent, reserved, revoked, usage) on s.id = v.id
           where s.tenant = ${sql`${load.tenant}`} and s.audit_seq = v.seq and s.audit_head = v.head and s.spent_micros = v.spent and s.reserved_micros = v.reserved
             and s.revoked_at_ms is not distinct from v.revoked and s.usage is not distinct from v.usage
           order by s.id for update of s) locked) = ${state.sessions.length}`,
      )
    }
    const { hold } = state
    if (hold) {
      checks.push(
        sql`(select count(*) from (select 1 from ${tables.holds} where id = ${hold.id} and tenant = ${load.tenant} and settled_entry_id is null and expires_at_ms = ${hold.expiresAt}
             and approval is not distinct from ${hold.approval}::jsonb for update) held) = 1`,
      )
    }
    checks.push(sql`(select version::text from ${tables.configVersions} where tenant = ${load.tenant}) is not distinct from ${state.configVersion}`)
    return `select 1 / (case when ${checks.join(' and ')} then 1 else 0 end)`
  }

  function learn(load: LoadRequest, state: LoadedState, changes: Changes, shared: boolean): void {
    if (load.configVersion) configVersions.set(load.tenant, { version: state.configVersion })
    const { tenant } = changes
    // Each session as it stands after the changes: counters moved, head advanced, revoked, usage replaced.
    const after = new Map<string, SessionState>()
    for (const session of state.sessions) after.set(session.record.id, copySession(session))
    for (const session of state.expiredHolds.flatMap((expired) => expired.chain)) if (!after.has(session.record.id)) after.set(session.record.id, copySession(session))
    advanceSessions(after, changes)
    for (const [id, session] of after) {
      ancestry.set(key(tenant, id), session.ancestors)
      // Overlapped by another operation on these rows: which commit came last is unknown here.
      if (shared) sessions.delete(key(tenant, id))
      else sessions.set(key(tenant, id), session)
    }
    for (const opened of changes.openedHolds) holds.set(key(tenant, opened.id), opened)
    for (const update of changes.updatedHolds) {
      const known = holds.get(key(tenant, update.holdId))
      if (known) holds.set(key(tenant, update.holdId), { ...known, expiresAt: update.expiresAt, approval: update.approval })
    }
    for (const closed of changes.closedHolds) holds.delete(key(tenant, closed.holdId))
  }

  function forget(load: LoadRequest): void {
    configVersions.delete(load.tenant)
    if (load.sessionId !== undefined) {
      const own = sessions.get(key(load.tenant, load.sessionId))
      sessions.delete(key(load.tenant, load.sessionId))
      for (const id of own?.ancestors ?? []) sessions.delete(key(load.tenant, id))
    }
    if (load.holdId !== undefined) holds.delete(key(load.tenant, load.holdId))
  }

  /**
   * Operations registered as one: they never make each other `shared`, since they commit together
   * and learn in their order (a group). Another operation on their rows makes them all shared.
   */
  function enterAll(loads: readonly LoadRequest[]): Operation[] {
    const self = { shared: false }
    const ids = new Set<string>()
    const register = (id: string) => {
      if (ids.has(id)) return
      ids.add(id)
      let running = busy.get(id)
      if (!running) busy.set(id, (running = new Set()))
      for (const other of running) other.shared = self.shared = true
      running.add(self)
    }
    for (const load of loads) if (load.sessionId !== undefined) for (const id of chainIds(load.tenant, load.sessionId)) register(id)
    return loads.map((load) => ({
      state: self.shared ? null : snapshot(load),
      guard: (state) => guard(load, state),
      track(state) {
        for (const session of state.sessions) {
          ancestry.set(key(load.tenant, session.record.id), session.ancestors)
          register(key(load.tenant, session.record.id))
        }
        for (const expired of state.expiredHolds) for (const session of expired.chain) register(key(load.tenant, session.record.id))
      },
      learn: (state, changes) => learn(load, state, changes, self.shared),
      forget: () => forget(load),
      done() {
        for (const id of ids) {
          const running = busy.get(id)
          running?.delete(self)
          if (running?.size === 0) busy.delete(id)
        }
      },
    }))
  }

  return {
    enter: (load) => enterAll([load])[0] as Operation,
    enterAll,
  }
}
