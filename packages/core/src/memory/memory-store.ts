import { LRUCache } from 'lru-cache'
import type { AuditEntry } from '../audit/audit-entry.ts'
import type { ApprovalRuleRecord, AuditPage, SessionRecord } from '../backend/haldir-backend.ts'
import { applySliceChange } from '../engine/slices.ts'
import type { Changes, CounterChange, Decision, ExpiredHold, HoldRecord, HoldUpdate, IdempotencyRecord, LoadedState, LoadRequest, SessionState, StateStore, StoredSecret } from '../engine/state-store.ts'
import { resultHoldId } from '../engine/result-hold-id.ts'
import { QuotaExceededError } from '../errors/quota-exceeded-error.ts'
import { nodeKey, peaksOf } from '../ledger/merkle-log.ts'
import type { TreeHead } from '../ledger/tree-head.ts'
import { EntryBytes } from './entry-bytes.ts'
import { type HoldSlot, HoldTable } from './hold-table.ts'
import { SealLine } from './seal-line.ts'
import { type EntryFilter, SessionTrail } from './session-trail.ts'
import { TenantTrail } from './tenant-trail.ts'

interface MemorySession extends SessionState {
  /** The session, then its ancestors: fixed at creation, so loading a chain never walks a map. */
  chain: MemorySession[]
  children: MemorySession[]
  byTool: Map<string, number>
  trail: SessionTrail
}

/** Where the conformance suite reaches in to tamper with stored entries; not public API. */
export const memoryInternals = Symbol.for('haldir.memory.internals')

export interface MemoryInternals {
  /** The session's entries, to change, remove and reorder in place: from then on the session reads them. */
  entriesOf(sessionId: string): AuditEntry[]
  /** The session's state itself (counters, head), to change as an attacker could. */
  stateOf(sessionId: string): SessionState
  /** Removes a session and its trail, as if its rows were deleted. */
  forget(sessionId: string): void
  secret(tenant: string, name: string): StoredSecret | undefined
  /** Writes a row as an attacker with access to the store would: no version bump, no seal. */
  setSecret(tenant: string, secret: StoredSecret): void
}

/**
 * All of Haldir's state in this process. `transact` loads, decides and applies with no `await`
 * in between, so every operation is atomic without locks: budgets hold under any number of
 * concurrent calls.
 */
export function memoryStore(options: { cacheSize: number; maxTenantBytes: number }): StateStore & { [memoryInternals]: MemoryInternals } {
  const sessions = new Map<string, MemorySession>()
  // Open holds, with the earliest lease per root session (a decision compares one number and only
  // scans when a lease may have ended); closed ones are kept only so a repeated settle, or a
  // replayed key, gets the same answer: bounded.
  const holds = new HoldTable(options.cacheSize)
  const idempotency = new LRUCache<string, IdempotencyRecord>({ max: options.cacheSize })
  const secrets = new Map<string, StoredSecret>()
  const configVersions = new Map<string, number>()
  const approvalRules = new Map<string, ApprovalRuleRecord[]>()
  // Every approval by id, in request order (its hold has the rest). Decided ones are dropped
  // oldest first past `cacheSize`, like closed holds; waiting ones stay as long as their hold.
  const approvals = new Map<string, { tenant: string; holdId: string }>()
  const trails = new Map<string, TenantTrail>()
  // Every sealed entry's bytes, outside the JavaScript heap; the trails hold numbers into it.
  const entryBytes = new EntryBytes()
  // About how much each tenant keeps here (entries, sessions' metadata, secrets): one tenant cannot
  // grow the process without bound.
  const tenantBytes = new Map<string, number>()
  // The ledger: per tenant, the log and its complete nodes. Leaf `p` is the entry at position `p`
  // of the tenant's trail. Per tenant: the log's size, an index of leaves by entry id built only
  // when a proof asks, and the nodes by level (level 0: leaf hashes), each level an array by index.
  interface MemoryLog {
    size: number
    leafIndex: Map<string, number>
    indexed: number
    levels: string[][]
  }
  const logs = new Map<string, MemoryLog>()
  // Each tenant's leaf hashes as sealed, aligned with its trail, waiting to join the log.
  const sealedLeaves = new Map<string, string[]>()
  const heads = new Map<string, TreeHead[]>()
  const leavesOf = (tenant: string) => {
    let leaves = sealedLeaves.get(tenant)
    if (!leaves) sealedLeaves.set(tenant, (leaves = []))
    return leaves
  }
  // Entries applied and not sealed yet, when the engine leaves sealing to this store (`sealLater`).
  // Nothing reads an entry, a head or the log before `sealed()` has run.
  let line: SealLine | null = null
  const sealed = () => {
    if (line !== null) line.sealAll()
  }
  const logOf = (tenant: string) => {
    let log = logs.get(tenant)
    if (!log) logs.set(tenant, (log = { size: 0, leafIndex: new Map(), indexed: 0, levels: [] }))
    return log
  }
  const nodeOf = (levels: string[][], level: number, index: number): string | undefined => levels[level]?.[index]

  function reserveBytes(tenant: string, bytes: number): void {
    const used = tenantBytes.get(tenant) ?? 0
    if (used + bytes > options.maxTenantBytes) {
      throw new QuotaExceededError({
        message: `Tenant '${tenant}' has used its ${options.maxTenantBytes} bytes of in-memory storage; nothing was written (the memory backend bounds each tenant; use PostgreSQL for more)`,
        data: { limitBytes: options.maxTenantBytes, usedBytes: used },
      })
    }
    tenantBytes.set(tenant, used + bytes)
  }
  const idempotencyKey = (tenant: string, key: string) => `${tenant}\u0000${key}`
  const secretKey = (tenant: string, name: string) => `${tenant}\u0000${name}`

  function find(tenant: string, sessionId: string): MemorySession | undefined {
    const session = sessions.get(sessionId)
    return session && session.record.tenant === tenant ? session : undefined
  }

  /**
   * A session's money with its descendants' slices counted where they went: spent from (into
   * spent, by tool), free (out of reserved); what their calls hold stays reserved.
   */
  function settledMoney(session: MemorySession): { spentMicros: number; reservedMicros: number; byTool: Map<string, number> } {
    const money = { spentMicros: session.spentMicros, reservedMicros: session.reservedMicros, byTool: session.byTool }
    if ((session.slice?.heldMicros ?? 0) === 0) return money
    money.byTool = new Map(session.byTool)
    for (const descendant of subtreeOf(session)) {
      const slice = descendant === session ? undefined : descendant.slice
      if (!slice) continue
      money.spentMicros += slice.spentMicros
      money.reservedMicros -= slice.freeMicros + slice.spentMicros
      for (const [tool, micros] of Object.entries(slice.byTool)) money.byTool.set(tool, (money.byTool.get(tool) ?? 0) + micros)
    }
    return money
  }

  function subtreeOf(root: MemorySession): MemorySession[] {
    const out = [root]
    for (let index = 0; index < out.length; index++) out.push(...(out[index] as MemorySession).children)
    return out
  }

  /** A hold of the tenant as the engine sees it: open, or rebuilt from what was kept of it once closed. */
  function holdOf(tenant: string, holdId: string): { hold: HoldRecord; entry: AuditEntry | null } | null {
    const slot = holds.get(holdId)
    if (!slot || slot.hold.tenant !== tenant) return null
    if (slot.closing === null) return { hold: slot.hold, entry: null }
    return { hold: { ...slot.hold, closed: slot.closing }, entry: slot.closedIn?.storedAt(slot.closedAt) ?? null }
  }

  function expiredUnder(rootId: string, at: number): ExpiredHold[] {
    const expired = holds.expiredUnder(rootId, at)
    return expired.length === 0 ? [] : expired.map((hold) => ({ hold, chain: (sessions.get(hold.sessionId) as MemorySession).chain }))
  }

  function load(request: LoadRequest): LoadedState {
    const { tenant } = request
    let loaded: MemorySession[] = []
    const scope = request.sessions
    if (scope !== undefined && request.sessionId !== undefined) {
      const session = find(tenant, request.sessionId)
      if (session) loaded = scope === 'chain' ? session.chain : scope === 'self' ? [session] : subtreeOf(session)
    }
    const found = request.holdId === undefined ? null : holdOf(tenant, request.holdId)
    const remembered = request.idempotencyKey === undefined ? undefined : idempotency.get(idempotencyKey(tenant, request.idempotencyKey))
    const rememberedHoldId = remembered ? resultHoldId(remembered.result) : null
    const secret = request.secretName === undefined ? undefined : secrets.get(secretKey(tenant, request.secretName))
    // Holds whose lease ended under the root of a chain, or of a tree that is a root's.
    const root = scope === 'chain' ? loaded[loaded.length - 1] : scope === 'subtree' && loaded[0]?.record.parentId === null ? loaded[0] : undefined
    return {
      sessions: loaded,
      hold: found?.hold ?? null,
      closingEntry: found?.entry ?? null,
      idempotency: remembered ?? null,
      idempotencyHold: rememberedHoldId ? (holdOf(tenant, rememberedHoldId)?.hold ?? null) : null,
      secret: secret ?? null,
      expiredHolds: request.expiredHoldsAt !== undefined && request.lock === undefined && root ? expiredUnder(root.record.id, request.expiredHoldsAt) : [],
      configVersion: request.configVersion ? versionOf(tenant) : null,
    }
  }

  function versionOf(tenant: string): string | null {
    const version = configVersions.get(tenant)
    return version === undefined ? null : String(version)
  }

  function moveVersion(tenant: string): void {
    configVersions.set(tenant, (configVersions.get(tenant) ?? 0) + 1)
  }

  function putSecret(tenant: string, secret: StoredSecret): void {
    secrets.set(secretKey(tenant, secret.name), secret)
    moveVersion(tenant)
  }

  function forgetDecidedApprovals(): void {
    if (approvals.size <= options.cacheSize) return
    for (const [id, { holdId }] of approvals) {
      if (approvals.size <= options.cacheSize) return
      if (holds.get(holdId)?.closing !== null) approvals.delete(id)
    }
  }

  // Where each of an apply's entries went in its session's trail (reused: most applies add one or two).
  const addedAt: number[] = []

  // Indexed loops over each kind of change: most are empty on the hot path, and for-of over
  // the engine's shared frozen empty array would make these loops polymorphic.
  function apply(changes: Changes): void {
    const { createdSessions, counters, revocations, openedHolds: opened, entries, closedHolds: closing } = changes
    for (let index = 0; index < createdSessions.length; index++) {
      const created = createdSessions[index] as SessionState
      const parent = created.record.parentId === null ? undefined : sessions.get(created.record.parentId)
      const session: MemorySession = { ...created, chain: [], children: [], byTool: new Map(), trail: new SessionTrail(created.record.agentId, entryBytes) }
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
      // The store's own slice object (plans only read it, and copy what they change).
      if (change.slice !== undefined) applySliceChange((session.slice ??= { freeMicros: 0, spentMicros: 0, byTool: {}, heldMicros: 0 }), change)
    }
    for (let index = 0; index < revocations.length; index++) {
      const revocation = revocations[index] as { sessionId: string; revokedAt: number }
      ;(sessions.get(revocation.sessionId) as MemorySession).record.revokedAt = revocation.revokedAt
    }
    for (let index = 0; index < opened.length; index++) {
      const hold = opened[index] as HoldRecord
      holds.open(hold)
      if (hold.approval !== null) {
        approvals.set(hold.approval.id, { tenant: hold.tenant, holdId: hold.id })
        forgetDecidedApprovals()
      }
    }
    const { usage } = changes
    for (let index = 0; index < usage.length; index++) {
      const change = usage[index] as Changes['usage'][number]
      ;(sessions.get(change.sessionId) as MemorySession).usage = change.usage
    }
    // Before closings: a hold may change (its approval decided) and close in one operation.
    for (let index = 0; index < changes.updatedHolds.length; index++) holds.update(changes.updatedHolds[index] as HoldUpdate)
    if (entries.length > 0) {
      let trail = trails.get(changes.tenant)
      if (!trail) trails.set(changes.tenant, (trail = new TenantTrail()))
      if (changes.leaves) {
        const leaves = leavesOf(changes.tenant)
        for (let index = 0; index < changes.leaves.length; index++) leaves.push(changes.leaves[index] as string)
      }
      const owed = line === null ? null : line.ledger ? leavesOf(changes.tenant) : null
      for (let index = 0; index < entries.length; index++) {
        const entry = entries[index] as AuditEntry
        const session = sessions.get(entry.sessionId) as MemorySession
        const at = session.trail.add(entry)
        addedAt[index] = at
        // The head object is the store's own (plans only read it before apply): advance it in place.
        session.head.seq = entry.seq
        // Sealing later, the head's hash moves when the entry is sealed (and the entry is kept compact).
        if (line === null) session.head.hash = entry.hash
        else line.add(entry, session.head, owed, session.trail, at)
        trail.add(session.trail, at)
      }
    }
    for (let index = 0; index < closing.length; index++) {
      // The change itself is the closing record (its extra holdId is harmless).
      const closed = closing[index] as Changes['closedHolds'][number]
      const slot = holds.get(closed.holdId) as HoldSlot
      let at = entries.length - 1
      while ((entries[at] as AuditEntry).id !== closed.entryId) at--
      const entry = entries[at] as AuditEntry
      holds.close(slot, closed, (sessions.get(entry.sessionId) as MemorySession).trail, addedAt[at] as number)
    }
    const remember = changes.idempotency
    if (remember) idempotency.set(idempotencyKey(remember.tenant, remember.key), remember)
    for (let index = 0; index < changes.secrets.length; index++) putSecret(changes.tenant, changes.secrets[index] as StoredSecret)
  }

  /** Loads, decides and applies with nothing in between: atomic without locks. */
  function transactNow<T>(request: LoadRequest, decide: (state: LoadedState) => Decision<T>): T {
    const decision = decide(load(request))
    const { changes } = decision
    reserveBytes(changes.tenant, changes.bytes + metadataBytes(changes.createdSessions))
    apply(changes)
    // An answer that shows an entry shows it sealed (and every entry before it is sealed first).
    if (decision.sealLater !== true) sealed()
    if (decision.error) throw decision.error
    return decision.value as T
  }

  return {
    name: 'memory',
    [memoryInternals]: {
      entriesOf(sessionId) {
        sealed()
        const session = sessions.get(sessionId)
        if (!session) throw new Error(`no session ${sessionId}`)
        return session.trail.edit()
      },
      stateOf(sessionId) {
        sealed()
        const session = sessions.get(sessionId)
        if (!session) throw new Error(`no session ${sessionId}`)
        return session
      },
      forget(sessionId) {
        sealed()
        const session = sessions.get(sessionId)
        if (!session) throw new Error(`no session ${sessionId}`)
        // The tenant's trail keeps its positions (the log is aligned with it); the session and its entries go.
        sessions.delete(sessionId)
        session.trail.forget()
      },
      secret: (tenant, name) => secrets.get(secretKey(tenant, name)),
      setSecret: (tenant, secret) => void secrets.set(secretKey(tenant, secret.name), secret),
    },

    async transact(request, decide) {
      return transactNow(request, decide)
    },

    transactNow,

    async readSession(tenant, sessionId) {
      return find(tenant, sessionId)?.record ?? null
    },

    async readSpend(tenant, sessionId) {
      const session = find(tenant, sessionId)
      if (!session) return null
      const money = settledMoney(session)
      return {
        spentMicros: money.spentMicros,
        reservedMicros: money.reservedMicros,
        limitMicros: session.record.limitMicros,
        byTool: Object.fromEntries(money.byTool),
        controls: session.record.controls,
        usage: session.usage,
      }
    },

    async readTrail(tenant, sessionId) {
      sealed()
      const session = find(tenant, sessionId)
      return session ? { entries: session.trail.entries(), head: session.head } : null
    },

    async queryAudit(query): Promise<AuditPage> {
      sealed()
      // A session's entries as it reads them, or the tenant's as stored: only the page is parsed.
      const source = query.sessionId !== null ? (find(query.tenant, query.sessionId)?.trail ?? null) : (trails.get(query.tenant) ?? null)
      const entries: AuditEntry[] = []
      let count = 0
      if (source !== null) {
        const filter: EntryFilter = query
        const filtered = query.agentId !== null || query.outcome !== null || query.flagged !== null
        for (let index = 0; index < source.length; index++) {
          if (filtered && !source.matches(index, filter)) continue
          if (count >= query.offset && entries.length < query.limit) entries.push(source.at(index))
          count++
        }
      }
      const next = query.offset + entries.length
      return { count, entries, nextOffset: next < count ? next : null }
    },

    async putSecret(tenant, secret) {
      reserveBytes(tenant, secret.name.length + secret.sealed.ciphertext.length + 100)
      putSecret(tenant, secret)
    },

    async listSecrets(tenant) {
      const out: StoredSecret[] = []
      for (const [key, secret] of secrets) if (key.startsWith(`${tenant}\u0000`)) out.push(secret)
      return { version: versionOf(tenant), secrets: out }
    },

    async putApprovalRule(tenant, rule) {
      reserveBytes(tenant, JSON.stringify(rule).length + 100)
      const rules = approvalRules.get(tenant) ?? []
      approvalRules.set(tenant, [...rules, rule])
      moveVersion(tenant)
    },

    async deleteApprovalRule(tenant, ruleId) {
      const rules = approvalRules.get(tenant) ?? []
      const kept = rules.filter((rule) => rule.id !== ruleId)
      if (kept.length === rules.length) return false
      approvalRules.set(tenant, kept)
      moveVersion(tenant)
      return true
    },

    async listApprovalRules(tenant) {
      return [...(approvalRules.get(tenant) ?? [])]
    },

    async readApproval(tenant, approvalId) {
      const known = approvals.get(approvalId)
      if (!known || known.tenant !== tenant) return null
      return holdOf(tenant, known.holdId)?.hold ?? null
    },

    async listApprovals(tenant, filter) {
      const out: HoldRecord[] = []
      for (const known of approvals.values()) {
        if (known.tenant !== tenant) continue
        const hold = holdOf(tenant, known.holdId)?.hold
        if (!hold?.approval) continue
        if (filter.status !== null && hold.approval.status !== filter.status) continue
        if (filter.sessionId !== null && hold.sessionId !== filter.sessionId) continue
        if (filter.openOnly && hold.closed !== null) continue
        out.push(hold)
      }
      return out.sort((a, b) => (b.approval?.requestedAt ?? 0) - (a.approval?.requestedAt ?? 0)).slice(0, filter.limit)
    },

    async deleteSecret(tenant, name) {
      if (!secrets.delete(secretKey(tenant, name))) return false
      moveVersion(tenant)
      return true
    },

    async readHold(tenant, holdId) {
      return holdOf(tenant, holdId)?.hold ?? null
    },

    async listHolds(tenant, sessionId, limit) {
      const out: HoldRecord[] = []
      for (const { hold } of holds.openSlots()) if (hold.tenant === tenant && (sessionId === null || hold.sessionId === sessionId)) out.push(hold)
      return out.sort((a, b) => a.createdAt - b.createdAt).slice(0, limit)
    },

    async findExpiredHolds(tenant, at, limit) {
      const out: HoldRecord[] = []
      for (const { hold } of holds.openSlots()) if (hold.tenant === tenant && hold.expiresAt <= at) out.push(hold)
      return out.sort((a, b) => a.expiresAt - b.expiresAt).slice(0, limit)
    },

    async listSessions(tenant, limit): Promise<SessionRecord[]> {
      const out: SessionRecord[] = []
      for (const session of sessions.values()) if (session.record.tenant === tenant) out.push(session.record)
      return out.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit)
    },

    async extendLog(tenant, limit, extend) {
      sealed()
      const log = logOf(tenant)
      const trail = trails.get(tenant)
      const { size } = log
      const pendingCount = Math.max(0, Math.min(limit, (trail?.length ?? 0) - size))
      const leafHashes = (sealedLeaves.get(tenant) ?? []).slice(size, size + pendingCount)
      const extension = extend({
        size,
        peaks: peaksOf(size).map((key) => nodeOf(log.levels, key.level, key.index) as string),
        pendingCount,
        pendingEntry: (offset) => (trail as TenantTrail).at(size + offset),
        leafHashes,
      })
      for (const node of extension.nodes) (log.levels[node.level] ??= [])[node.index] = node.hash
      log.size = extension.size
      return extension.size
    },

    async logSize(tenant) {
      return logs.get(tenant)?.size ?? 0
    },

    async readLogNodes(tenant, keys) {
      const levels = logs.get(tenant)?.levels ?? []
      const out = new Map<string, string>()
      for (const key of keys) {
        const hash = nodeOf(levels, key.level, key.index)
        if (hash !== undefined) out.set(nodeKey(key.level, key.index), hash)
      }
      return out
    },

    async leafIndexOf(tenant, entryId) {
      const log = logs.get(tenant)
      const trail = trails.get(tenant)
      if (!log || !trail) return null
      for (; log.indexed < log.size; log.indexed++) log.leafIndex.set(trail.idAt(log.indexed), log.indexed)
      return log.leafIndex.get(entryId) ?? null
    },

    async readLogEntries(tenant, from, limit) {
      sealed()
      const size = logs.get(tenant)?.size ?? 0
      const trail = trails.get(tenant)
      const out: { leafIndex: number; entry: AuditEntry | null }[] = []
      // Entries are found where they live (their session's trail), so one removed there is missing here too.
      for (let leafIndex = Math.max(0, from); trail && leafIndex < Math.min(size, from + limit); leafIndex++) out.push({ leafIndex, entry: trail.find(leafIndex) })
      return out
    },

    async recordTreeHead(tenant, head) {
      let recorded = heads.get(tenant)
      if (!recorded) heads.set(tenant, (recorded = []))
      if (!recorded.some((known) => known.treeSize === head.treeSize)) recorded.push(head)
      recorded.sort((a, b) => a.treeSize - b.treeSize)
    },

    async treeHeads(tenant, sinceSize, limit) {
      return (heads.get(tenant) ?? []).filter((head) => head.treeSize > sinceSize).slice(0, limit)
    },

    async tenantsWithPendingEntries() {
      const out: string[] = []
      for (const [tenant, trail] of trails) if (trail.length > (logs.get(tenant)?.size ?? 0)) out.push(tenant)
      return out
    },

    async readSubtree(tenant, sessionId) {
      sealed()
      const root = find(tenant, sessionId)
      if (!root) return null
      const money = settledMoney(root)
      return { spentMicros: money.spentMicros, reservedMicros: money.reservedMicros, trails: subtreeOf(root).map((session) => session.trail.entries()) }
    },

    async sessionIds(tenant) {
      const out: string[] = []
      for (const session of sessions.values()) if (session.record.tenant === tenant) out.push(session.record.id)
      return out
    },

    sealLater(sealing) {
      // A second engine over this store: what the first left owed is sealed by the first's seal.
      sealed()
      line = new SealLine(sealing)
      return true
    },

    async close() {
      sealed()
    },
  }
}

function metadataBytes(created: readonly SessionState[]): number {
  let bytes = 0
  for (let index = 0; index < created.length; index++) bytes += JSON.stringify((created[index] as SessionState).record.metadata).length + 300
  return bytes
}
