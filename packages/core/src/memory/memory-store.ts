import { LRUCache } from 'lru-cache'
import type { AuditEntry } from '../audit/audit-entry.ts'
import type { AuditPage, SessionRecord } from '../backend/haldir-backend.ts'
import type { Changes, CounterChange, HoldRecord, IdempotencyRecord, LoadedState, LoadRequest, SessionState, StateStore, StoredSecret } from '../engine/state-store.ts'
import { RecentMap } from '../internal/recent-map.ts'

interface MemorySession extends SessionState {
  /** The session, then its ancestors: fixed at creation, so loading a chain never walks a map. */
  chain: MemorySession[]
  children: MemorySession[]
  byTool: Map<string, number>
  entries: AuditEntry[]
}

/** Where the conformance suite reaches in to tamper with stored entries; not public API. */
export const memoryInternals = Symbol.for('haldir.memory.internals')

export interface MemoryInternals {
  entriesOf(sessionId: string): AuditEntry[]
}

/**
 * All of Haldir's state in this process. `transact` loads, decides and applies with no `await`
 * in between, so every operation is atomic without locks: budgets hold under any number of
 * concurrent calls.
 */
export function memoryStore(options: { cacheSize: number }): StateStore & { [memoryInternals]: MemoryInternals } {
  const sessions = new Map<string, MemorySession>()
  const openHolds = new Map<string, HoldRecord>()
  // Closed holds are kept only so a repeated settle gets the same answer: bounded.
  const closedHolds = new RecentMap<string, { hold: HoldRecord; entry: AuditEntry; chargedMicros: number }>(options.cacheSize)
  const idempotency = new LRUCache<string, IdempotencyRecord>({ max: options.cacheSize })
  const secrets = new Map<string, StoredSecret>()
  const trails = new Map<string, AuditEntry[]>()
  const idempotencyKey = (tenant: string, sessionId: string, key: string) => `${tenant}\u0000${sessionId}\u0000${key}`

  function find(tenant: string, sessionId: string): MemorySession | undefined {
    const session = sessions.get(sessionId)
    return session && session.record.tenant === tenant ? session : undefined
  }

  function subtreeOf(root: MemorySession): MemorySession[] {
    const out = [root]
    for (let index = 0; index < out.length; index++) out.push(...(out[index] as MemorySession).children)
    return out
  }

  function load(request: LoadRequest): LoadedState {
    const { tenant } = request
    let loaded: MemorySession[] = []
    const scope = request.sessions
    if (scope !== undefined && request.sessionId !== undefined) {
      const session = find(tenant, request.sessionId)
      if (session) loaded = scope === 'chain' ? session.chain : scope === 'self' ? [session] : subtreeOf(session)
    }
    let hold: HoldRecord | null = null
    let closingEntry: AuditEntry | null = null
    if (request.holdId !== undefined) {
      const open = openHolds.get(request.holdId)
      if (open) {
        if (open.tenant === tenant) hold = open
      } else {
        // A repeated settle (rare): the closed hold is rebuilt from what was kept of it.
        const closed = closedHolds.get(request.holdId)
        if (closed && closed.hold.tenant === tenant) {
          hold = { ...closed.hold, closed: { entryId: closed.entry.id, chargedMicros: closed.chargedMicros } }
          closingEntry = closed.entry
        }
      }
    }
    const remembered =
      request.idempotencyKey !== undefined && request.sessionId !== undefined ? idempotency.get(idempotencyKey(tenant, request.sessionId, request.idempotencyKey)) : undefined
    const secret = request.secretName === undefined ? undefined : secrets.get(`${tenant}\u0000${request.secretName}`)
    return { sessions: loaded, hold, closingEntry, idempotency: remembered ?? null, secret: secret ?? null }
  }

  // Indexed loops over each kind of change: most are empty on the hot path, and for-of over
  // the engine's shared frozen empty array would make these loops polymorphic.
  function apply(changes: Changes): void {
    const { createdSessions, counters, revocations, openedHolds: opened, entries, closedHolds: closing } = changes
    for (let index = 0; index < createdSessions.length; index++) {
      const created = createdSessions[index] as SessionState
      const parent = created.record.parentId === null ? undefined : sessions.get(created.record.parentId)
      const session: MemorySession = { ...created, chain: [], children: [], byTool: new Map(), entries: [] }
      session.chain = [session, ...(parent?.chain ?? [])]
      parent?.children.push(session)
      sessions.set(session.record.id, session)
    }
    for (let index = 0; index < counters.length; index++) {
      const change = counters[index] as CounterChange
      const session = sessions.get(change.sessionId) as MemorySession
      session.spentMicros += change.spentMicros
      session.reservedMicros += change.reservedMicros
      if (change.tool !== null && change.spentMicros !== 0) session.byTool.set(change.tool, (session.byTool.get(change.tool) ?? 0) + change.spentMicros)
    }
    for (let index = 0; index < revocations.length; index++) {
      const revocation = revocations[index] as { sessionId: string; revokedAt: number }
      ;(sessions.get(revocation.sessionId) as MemorySession).record.revokedAt = revocation.revokedAt
    }
    for (let index = 0; index < opened.length; index++) {
      const hold = opened[index] as HoldRecord
      openHolds.set(hold.id, hold)
    }
    if (entries.length > 0) {
      let trail = trails.get(changes.tenant)
      if (!trail) trails.set(changes.tenant, (trail = []))
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index] as AuditEntry
        const session = sessions.get(entry.sessionId) as MemorySession
        session.entries.push(entry)
        // The head object is the store's own (plans only read it before apply): advance it in place.
        session.head.seq = entry.seq
        session.head.hash = entry.hash
        trail.push(entry)
      }
    }
    for (let index = 0; index < closing.length; index++) {
      const { holdId, entryId, chargedMicros } = closing[index] as Changes['closedHolds'][number]
      const hold = openHolds.get(holdId) as HoldRecord
      openHolds.delete(holdId)
      let entry = entries[entries.length - 1] as AuditEntry
      for (let at = entries.length - 1; entry.id !== entryId; at--) entry = entries[at - 1] as AuditEntry
      closedHolds.set(holdId, { hold, entry, chargedMicros })
    }
    const remember = changes.idempotency
    if (remember) idempotency.set(idempotencyKey(remember.tenant, remember.sessionId, remember.key), remember)
  }

  return {
    name: 'memory',
    [memoryInternals]: {
      entriesOf(sessionId) {
        const session = sessions.get(sessionId)
        if (!session) throw new Error(`no session ${sessionId}`)
        return session.entries
      },
    },

    async transact(request, decide) {
      const decision = decide(load(request))
      apply(decision.changes)
      if (decision.error) throw decision.error
      return decision.value as never
    },

    async readSession(tenant, sessionId) {
      return find(tenant, sessionId)?.record ?? null
    },

    async readSpend(tenant, sessionId) {
      const session = find(tenant, sessionId)
      if (!session) return null
      return { spentMicros: session.spentMicros, reservedMicros: session.reservedMicros, limitMicros: session.record.limitMicros, byTool: Object.fromEntries(session.byTool) }
    },

    async readTrail(tenant, sessionId) {
      const session = find(tenant, sessionId)
      return session ? { entries: session.entries, head: session.head } : null
    },

    async queryAudit(query): Promise<AuditPage> {
      const source = query.sessionId !== null ? (find(query.tenant, query.sessionId)?.entries ?? []) : (trails.get(query.tenant) ?? [])
      const matching = source.filter(
        (entry) =>
          (query.agentId === null || entry.agentId === query.agentId) &&
          (query.outcome === null || entry.outcome === query.outcome) &&
          (query.flagged === null || entry.flagged === query.flagged),
      )
      const entries = matching.slice(query.offset, query.offset + query.limit)
      const next = query.offset + entries.length
      return { count: matching.length, entries, nextOffset: next < matching.length ? next : null }
    },

    async putSecret(tenant, secret) {
      secrets.set(`${tenant}\u0000${secret.name}`, secret)
    },

    async listSessions(tenant, limit): Promise<SessionRecord[]> {
      const out: SessionRecord[] = []
      for (const session of sessions.values()) if (session.record.tenant === tenant) out.push(session.record)
      return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit)
    },

    async close() {},
  }
}
