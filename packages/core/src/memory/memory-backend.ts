import { LRUCache } from 'lru-cache'
import { GENESIS_HASH, type AuditEntry, type AuditHead } from '../audit/audit-entry.ts'
import { type AuditEvent, auditEvents } from '../audit/audit-events.ts'
import { sealAuditEntry } from '../audit/hash-audit-entry.ts'
import { verifyAuditChain } from '../audit/verify-audit-chain.ts'
import type { AuditPage, AuthorizeResult, HaldirBackend, SessionRecord, SettleResult, SpendRecord } from '../backend.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { newId } from '../internal/new-id.ts'
import { RecentMap } from '../internal/recent-map.ts'
import { resolveKeys, type KeyInput } from '../internal/resolve-keys.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import { checkSettleAmount } from '../policy/check-settle-amount.ts'
import { decideAuthorization } from '../policy/decide-authorization.ts'
import { denialToError } from '../policy/denial-to-error.ts'
import { planChildSession } from '../policy/plan-child-session.ts'
import { createVaultCipher, type SealedSecret } from '../vault/vault-cipher.ts'

export interface MemoryBackendOptions {
  /** 32 bytes (hex or base64). @default process.env.HALDIR_MASTER_KEY, else an ephemeral key */
  masterKey?: KeyInput
  /** Keys that only decrypt, for rotation. */
  previousMasterKeys?: readonly KeyInput[]
  /** HMAC key of the audit chain. @default derived from the master key */
  auditKey?: KeyInput
  /** Clock in epoch milliseconds (tests move it). @default Date.now */
  now?: () => number
  /** How many idempotency keys and settled holds are remembered. @default 100_000 */
  idempotencyCacheSize?: number
}

interface MemorySession {
  record: SessionRecord
  /** The session, then its ancestors: fixed at creation, so the gate never walks a map. */
  chain: MemorySession[]
  records: SessionRecord[]
  spent: number
  reserved: number
  byTool: Map<string, number>
  entries: AuditEntry[]
  head: AuditHead
  children: MemorySession[]
}

interface MemoryHold {
  id: string
  session: MemorySession
  amount: number
  tool: string
  scope: string | null
  /** The gate's details, merged into the settle entry (sent and cleaned once per call). */
  details: Record<string, unknown>
}

/** Where the conformance suite reaches in to tamper with stored entries; not public API. */
export const memoryInternals = Symbol.for('haldir.memory.internals')

export interface MemoryInternals {
  entriesOf(sessionId: string): AuditEntry[]
}

/**
 * The embedded backend: all state in this process. Every operation runs synchronously between
 * two awaits, so each is atomic without locks; budgets hold under any number of concurrent calls.
 *
 * @example
 * const haldir = createHaldir({ backend: memoryBackend() })
 */
export function memoryBackend(options: MemoryBackendOptions = {}): HaldirBackend & { [memoryInternals]: MemoryInternals } {
  const keys = resolveKeys({ ...options, durable: false, backendName: 'memory' })
  const cipher = createVaultCipher({ masterKey: keys.masterKey, previousKeys: keys.previousKeys })
  const now = options.now ?? Date.now
  const cacheSize = options.idempotencyCacheSize ?? 100_000
  const sessions = new Map<string, MemorySession>()
  const holds = new Map<string, MemoryHold>()
  const settled = new RecentMap<string, SettleResult>(cacheSize)
  const idempotent = new LRUCache<string, AuthorizeResult>({ max: cacheSize })
  const secrets = new Map<string, { sealed: SealedSecret; scopeRequired: string | null }>()
  const trails = new Map<string, AuditEntry[]>()

  function lookup(tenant: string, sessionId: string): MemorySession {
    const session = sessions.get(sessionId)
    if (!session || session.record.tenant !== tenant) throw new NotFoundError({ resource: 'session', id: sessionId })
    return session
  }

  function append(session: MemorySession, input: AuditEvent): AuditEntry {
    const entry = sealAuditEntry(keys.auditKey, session.head, {
      id: newId('aud'),
      sessionId: session.record.id,
      agentId: session.record.agentId,
      timestamp: new Date(now()).toISOString(),
      ...input,
    })
    session.entries.push(entry)
    session.head = { seq: entry.seq, hash: entry.hash }
    let trail = trails.get(session.record.tenant)
    if (!trail) trails.set(session.record.tenant, (trail = []))
    trail.push(entry)
    return entry
  }

  function levelsOf(session: MemorySession) {
    return session.chain.map((link) => ({ sessionId: link.record.id, limitMicros: link.record.limitMicros, spentMicros: link.spent, reservedMicros: link.reserved }))
  }

  function addCharge(session: MemorySession, tool: string, amount: number): void {
    for (const link of session.chain) {
      link.spent += amount
      link.byTool.set(tool, (link.byTool.get(tool) ?? 0) + amount)
    }
  }

  return {
    name: 'memory',
    [memoryInternals]: {
      entriesOf: (sessionId) => {
        const session = sessions.get(sessionId)
        if (!session) throw new NotFoundError({ resource: 'session', id: sessionId })
        return session.entries
      },
    },

    async createSession(request) {
      const createdAt = now()
      let expiresAt = createdAt + request.ttlMs
      let parent: MemorySession | undefined
      if (request.parentId !== null) {
        parent = lookup(request.tenant, request.parentId)
        expiresAt = planChildSession({ parentChain: parent.records, scopes: request.scopes, expiresAt, now: createdAt }).expiresAt
      }
      const record: SessionRecord = {
        id: newId('ses'),
        tenant: request.tenant,
        agentId: request.agentId,
        scopes: [...request.scopes],
        limitMicros: request.limitMicros,
        createdAt,
        expiresAt,
        parentId: request.parentId,
        revokedAt: null,
        metadata: request.metadata,
      }
      const session: MemorySession = {
        record,
        chain: [],
        records: [],
        spent: 0,
        reserved: 0,
        byTool: new Map(),
        entries: [],
        head: { seq: 0, hash: GENESIS_HASH },
        children: [],
      }
      session.chain = [session, ...(parent?.chain ?? [])]
      session.records = session.chain.map((link) => link.record)
      parent?.children.push(session)
      sessions.set(record.id, session)
      append(session, auditEvents.sessionCreated(record))
      return record
    },

    async getSession(request) {
      return lookup(request.tenant, request.sessionId).record
    },

    async authorize(request) {
      const session = lookup(request.tenant, request.sessionId)
      const cacheKey = request.idempotencyKey === null ? null : `${request.tenant}\u0000${request.sessionId}\u0000${request.idempotencyKey}`
      if (cacheKey !== null) {
        const first = idempotent.get(cacheKey)
        if (first) return first
      }
      const decision = decideAuthorization({
        chain: session.records,
        levels: request.mode === 'check' ? [] : levelsOf(session),
        mode: request.mode,
        scope: request.scope,
        amountMicros: request.amountMicros,
        now: now(),
      })
      let result: AuthorizeResult
      if (!decision.allowed) {
        const entry = append(session, auditEvents.denied(request, decision))
        result = { allowed: false, code: decision.code, reason: decision.reason, facts: decision.facts, entry }
      } else if (request.mode === 'reserve') {
        const hold: MemoryHold = { id: newId('hold'), session, amount: request.amountMicros, tool: request.tool, scope: request.scope, details: request.details }
        for (const link of session.chain) link.reserved += hold.amount
        holds.set(hold.id, hold)
        result = { allowed: true, holdId: hold.id, entry: null }
      } else if (request.mode === 'charge') {
        addCharge(session, request.tool, request.amountMicros)
        const entry = append(session, auditEvents.charged(request))
        result = { allowed: true, holdId: null, entry }
      } else {
        result = { allowed: true, holdId: null, entry: null }
      }
      if (cacheKey !== null) idempotent.set(cacheKey, result)
      return result
    },

    async settle(request) {
      const hold = holds.get(request.holdId)
      if (!hold) {
        // Hold ids are unguessable and the entry names its session, so the id alone is the key.
        const first = settled.get(request.holdId)
        if (first && first.entry.sessionId === request.sessionId && sessions.get(request.sessionId)?.record.tenant === request.tenant) return first
        throw new NotFoundError({ resource: 'hold', id: request.holdId })
      }
      const { session } = hold
      if (session.record.tenant !== request.tenant || session.record.id !== request.sessionId) throw new NotFoundError({ resource: 'hold', id: request.holdId })
      checkSettleAmount(request.amountMicros, hold.amount)
      for (const link of session.chain) link.reserved -= hold.amount
      addCharge(session, hold.tool, request.amountMicros)
      holds.delete(hold.id)
      const entry = append(session, auditEvents.settled(hold, request))
      const result: SettleResult = { entry, chargedMicros: request.amountMicros }
      settled.set(hold.id, result)
      return result
    },

    async appendAudit(request) {
      const session = lookup(request.tenant, request.sessionId)
      return append(session, auditEvents.logged(request))
    },

    async getSpend(request): Promise<SpendRecord> {
      const session = lookup(request.tenant, request.sessionId)
      return { spentMicros: session.spent, reservedMicros: session.reserved, limitMicros: session.record.limitMicros, byTool: Object.fromEntries(session.byTool) }
    },

    async queryAudit(request): Promise<AuditPage> {
      let source: AuditEntry[]
      if (request.sessionId !== null) source = lookup(request.tenant, request.sessionId).entries
      else source = trails.get(request.tenant) ?? []
      const matching = source.filter(
        (entry) =>
          (request.agentId === null || entry.agentId === request.agentId) &&
          (request.outcome === null || entry.outcome === request.outcome) &&
          (request.flagged === null || entry.flagged === request.flagged),
      )
      const entries = matching.slice(request.offset, request.offset + request.limit)
      const next = request.offset + entries.length
      return { count: matching.length, entries, nextOffset: next < matching.length ? next : null }
    },

    async verifyAudit(request) {
      const session = lookup(request.tenant, request.sessionId)
      return verifyAuditChain({ auditKey: keys.auditKey, sessionId: session.record.id, entries: session.entries, head: session.head })
    },

    async revokeSession(request) {
      const root = lookup(request.tenant, request.sessionId)
      const revokedAt = now()
      const revoked: string[] = []
      const visit = (session: MemorySession): void => {
        if (session.record.revokedAt === null) {
          session.record.revokedAt = revokedAt
          revoked.push(session.record.id)
          append(session, auditEvents.revoked({ sessionId: session.record.id, revokedBy: root.record.id, reason: request.reason }))
        }
        for (const child of session.children) visit(child)
      }
      visit(root)
      return { revokedSessionIds: revoked }
    },

    async putSecret(request) {
      secrets.set(`${request.tenant}\u0000${request.name}`, { sealed: cipher.seal(request.name, request.value), scopeRequired: request.scopeRequired })
    },

    async readSecret(request) {
      const session = lookup(request.tenant, request.sessionId)
      const audit = (outcome: 'ok' | 'denied' | 'error', reason: string | null, scope: string | null) =>
        append(session, auditEvents.secretRead({ name: request.name, scope, outcome, reason }))
      const secret = secrets.get(`${request.tenant}\u0000${request.name}`)
      const decision = decideAuthorization({ chain: session.records, levels: [], mode: 'check', scope: secret?.scopeRequired ?? null, amountMicros: 0, now: now() })
      if (!decision.allowed) {
        audit('denied', decision.reason, secret?.scopeRequired ?? null)
        throw denialToError(decision, session.record.id)
      }
      if (!secret) {
        audit('error', `no secret '${request.name}'`, null)
        throw new NotFoundError({ resource: 'secret', id: request.name })
      }
      const value = cipher.open(request.name, secret.sealed)
      audit('ok', null, secret.scopeRequired)
      return value
    },

    async listSessions(request) {
      const out: SessionRecord[] = []
      for (const session of sessions.values()) if (session.record.tenant === request.tenant) out.push(session.record)
      return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, request.limit)
    },

    async close() {
      holds.clear()
    },
  }
}
