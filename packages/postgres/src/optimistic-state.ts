import type { Changes, HoldRecord, LoadedState, LoadRequest, SessionState } from '@haldir/core/backend'
import { LRUCache } from 'lru-cache'
import { advanceSessions, copySession } from './advance-sessions.ts'
import { lockedSessions } from './snapshot-guards.ts'

/**
 * What this process last knew of the rows it wrote: sessions (counters, head, usage), the holds
 * it opened, and each tenant's config version. An operation on a chain it knows is decided on
 * this snapshot and applied in **one round trip**: the transaction's first statements
 * (`snapshotGuards`) lock the rows and check they are still exactly the snapshot (else they fail, nothing is written, and the
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

export function optimisticState(): OptimisticState {
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
  function chainIds(load: LoadRequest): string[] {
    const { tenant } = load
    const sessionId = load.sessionId as string
    // A call on a slice writes its own row alone: calls of a crew's members do not overlap.
    if (load.lock === 'session') return [key(tenant, sessionId)]
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

  function learn(load: LoadRequest, state: LoadedState, changes: Changes, shared: boolean): void {
    if (load.configVersion) configVersions.set(load.tenant, { version: state.configVersion })
    const { tenant } = changes
    // Each session as it stands after the changes: counters moved, head advanced, revoked, usage replaced.
    const after = new Map<string, SessionState>()
    // A call on a slice read its ancestors unlocked: only its own row is known to be current.
    for (const session of lockedSessions(load, state)) after.set(session.record.id, copySession(session))
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
    if (load.sessionId !== undefined && load.lock === 'session') sessions.delete(key(load.tenant, load.sessionId))
    else if (load.sessionId !== undefined) {
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
    for (const load of loads) if (load.sessionId !== undefined) for (const id of chainIds(load)) register(id)
    return loads.map((load) => ({
      state: self.shared ? null : snapshot(load),
      track(state) {
        for (const session of lockedSessions(load, state)) {
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
