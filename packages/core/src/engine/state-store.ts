/**
 * What a stateful backend implements: state access and atomic apply, nothing else.
 *
 * Core's engine (`createStatefulBackend`) drives every operation the same way: it asks the store
 * to load and lock the state the operation needs (a session chain, a hold, an idempotency record,
 * a secret), calls a pure plan on it, and hands the plan's {@link Changes} back to the store to
 * apply in the same atomic step. A store never branches on policy: it does not know what a
 * budget, a scope or a revocation means, only how to read and write them. Like a kysely
 * `Dialect`: the store supplies the connection and the atomicity, core supplies the decisions.
 */
import type { AuditEntry, AuditHead } from '../audit/audit-entry.ts'
import type { SealOutputs } from '../audit/hash-audit-entry.ts'
import type { ApprovalRuleRecord, ApprovalStatus, ApprovalTimeoutAction, AuditPage, AuditQuery, AuthorizeResult, SessionControls, SessionRecord } from '../backend/haldir-backend.ts'
import type { SessionUsage } from '../controls/session-usage.ts'
import type { LogNode, NodeKey } from '../ledger/merkle-log.ts'
import type { TreeHead } from '../ledger/tree-head.ts'
import type { HaldirEvent } from '../events/haldir-event.ts'
import type { SealedSecret } from '../vault/vault-cipher.ts'

/** A session as the engine decides over it: the record, its money and the end of its audit chain. */
export interface SessionState {
  record: SessionRecord
  /** Ancestor ids, parent first, root last (fixed at creation). */
  ancestors: readonly string[]
  /** Settled charges of the session and all its descendants. */
  spentMicros: number
  /** Open reservations of the session and all its descendants. */
  reservedMicros: number
  /** What the session's next entry links to. */
  head: AuditHead
  /** What its controls counted (windows, rate limits, caps, alerts raised); `null`: nothing yet. */
  usage: SessionUsage | null
  /** Its slice of its ancestors' budget, and what its descendants' slices hold of its own (`engine/slices.ts`); absent or `null`: none. */
  slice?: SliceState | null
}

/**
 * A session's slice: part of its ancestors' budget reserved on every one of them at once, so
 * its calls can draw on it while only its own row is locked and written (a crew's members
 * then never contend for the crew's row). `spentMicros` is spent from the slice and not yet
 * moved into the ancestors' `spentMicros`; until it is, a store reports each ancestor's money
 * with its descendants' slices counted where they went (spent, or back to free budget).
 */
export interface SliceState {
  /** Reserved on every ancestor for this session's calls and not drawn on yet. */
  freeMicros: number
  /** Charged from the slice and not yet moved into the ancestors' spend. */
  spentMicros: number
  /** `spentMicros` by tool (what moves into the ancestors' `byTool` with it). */
  byTool: Record<string, number>
  /** Of this session's own `reservedMicros`, how much its descendants' slices hold (free, spent from, or reserved by their calls). */
  heldMicros: number
}

/** Deltas of a session's {@link SliceState} (its `byTool` moves by `spentMicros` at the change's `tool`). */
export interface SliceChange {
  freeMicros: number
  spentMicros: number
  heldMicros: number
}

/**
 * A session's money as the store keeps it, with its controls and what they counted (the engine
 * reports the windows from them). Descendants' slices count where their money went: spent from,
 * reserved by their open calls, or not at all while free (`readSpend` adds them up in one snapshot).
 */
export interface StoredSpend {
  spentMicros: number
  reservedMicros: number
  limitMicros: number | null
  byTool: Record<string, number>
  controls: SessionControls | null
  usage: SessionUsage | null
}

/** Money reserved by the gate until it is settled, released, or its lease ends. */
export interface HoldRecord {
  id: string
  tenant: string
  sessionId: string
  /** The root of the session's chain: leases are looked after per root. */
  rootId: string
  amountMicros: number
  tool: string
  scope: string | null
  /** The gate's details, merged into the entry that closes the hold. */
  details: Record<string, unknown>
  createdAt: number
  /** When the lease ends: then the hold is released (and audited), never charged. */
  expiresAt: number
  /** The idempotency key of the gate that opened it, if any. */
  idempotencyKey: string | null
  /** Set once the hold is closed: the entry that closed it, what it charged, and whether its lease ended. */
  closed: HoldClosing | null
  /** Set when the hold was opened for a call that waits for a person: where that stands. */
  approval: ApprovalState | null
  /** Its money came from its session's slice: it moves the session's own row and slice only, never the ancestors'. */
  sliced?: boolean
}

/** The approval a hold carries (the hold has the call: session, tool, scope, amount, details; its lease is the approval's deadline while pending). */
export interface ApprovalState {
  id: string
  agentId: string
  mode: 'reserve' | 'charge'
  action: string
  reason: string
  status: ApprovalStatus
  requestedAt: number
  onTimeout: ApprovalTimeoutAction
  /** The lease the hold gets once approved (`null`: the default). */
  holdTtlMs: number | null
  decidedAt: number | null
  decidedBy: string | null
  note: string | null
  /** The approved call was let through (once). */
  used: boolean
}

export interface ApprovalFilter {
  status: ApprovalStatus | null
  sessionId: string | null
  /** Only approvals whose hold is still open (pending, or approved and not settled yet). */
  openOnly: boolean
  limit: number
}

/** A hold that stays what it is but changes its lease or its approval (a decision, a use). */
export interface HoldUpdate {
  holdId: string
  expiresAt: number
  approval: ApprovalState
}

export interface HoldClosing {
  entryId: string
  chargedMicros: number
  expired: boolean
}

/** What an idempotency key remembers: the request made under it (its fingerprint) and the first answer. */
export interface IdempotencyRecord {
  tenant: string
  key: string
  sessionId: string
  /** The request's identity (mode, session, scope, tool, action, amount): a different request under the key is a conflict. */
  fingerprint: string
  result: AuthorizeResult
  createdAt: number
}

/** An open hold whose lease ended, with the chain of its session (which its release must change). */
export interface ExpiredHold {
  hold: HoldRecord
  chain: SessionState[]
}

/** A secret at rest, with the scope a session needs to open it. */
export interface StoredSecret {
  name: string
  sealed: SealedSecret
  scopeRequired: string | null
}

/**
 * What an atomic operation needs loaded and locked. Every member is optional; a store loads
 * exactly what is asked, locks it for the rest of the operation, and reports what is missing as
 * absent (an empty chain, a `null` hold), never as an error: whether absence is an error is policy.
 */
export interface LoadRequest {
  tenant: string
  /** The session whose state is loaded, as `sessions` says. */
  sessionId?: string
  /** `sessionId` and its ancestors (`chain`), it alone (`self`), or it and every descendant (`subtree`). */
  sessions?: 'chain' | 'self' | 'subtree'
  /**
   * With `sessions: 'chain'`, `'session'` locks the session alone and reads its ancestors as they
   * stand, unlocked: a plan then relies only on what never changes of them (ids, scopes, expiry,
   * controls, rules; a revocation reaches every descendant's own row) and writes only the session's
   * row. Expired holds are not loaded then. @default the whole chain is locked
   */
  lock?: 'session'
  holdId?: string
  /** The tenant's record for this key, with the hold its gate opened (if any). */
  idempotencyKey?: string
  secretName?: string
  /**
   * Also load and lock every open hold under the root of `sessionId`'s chain whose lease ended at
   * or before this time, each with the chain of its session (locked with the others, in one order).
   */
  expiredHoldsAt?: number
  /** Report the tenant's config version (it changes whenever a secret or an approval rule is stored or removed). */
  configVersion?: boolean
}

export interface LoadedState {
  /**
   * `chain`: the session first, then its parent, up to the root. `self`: the session alone.
   * `subtree`: the session first, then its descendants (parents before children). Empty when
   * the session does not exist in the tenant.
   */
  sessions: SessionState[]
  hold: HoldRecord | null
  /** The entry that closed `hold`, when it is closed (a repeated settle answers with it). */
  closingEntry: AuditEntry | null
  idempotency: IdempotencyRecord | null
  /** The hold the idempotency record's gate opened (open or closed), when it has one. */
  idempotencyHold: HoldRecord | null
  secret: StoredSecret | null
  /** Open holds past their lease under the chain's root (when asked for with `expiredHoldsAt`). */
  expiredHolds: ExpiredHold[]
  /** The tenant's config version (when asked for); `null` when it has never stored a secret or a rule. */
  configVersion: string | null
}

/** A change of a session's counters: deltas in micro-dollars. */
export interface CounterChange {
  sessionId: string
  spentMicros: number
  reservedMicros: number
  /** Where `spentMicros` is added in `byTool` (and `slice.spentMicros` in the slice's); `null` when nothing is charged. */
  tool: string | null
  /** The session's slice moves too (absent: it does not). */
  slice?: SliceChange
}

/**
 * Everything an operation writes, as the engine's plans decided it. A store applies all of it in
 * one atomic step (or none of it), in any order that keeps its own constraints satisfied.
 */
export interface Changes {
  /** Every change of an operation belongs to this tenant. */
  readonly tenant: string
  /** When the operation decided (epoch milliseconds). */
  readonly now: number
  readonly createdSessions: readonly SessionState[]
  readonly counters: readonly CounterChange[]
  readonly revocations: readonly { sessionId: string; revokedAt: number }[]
  readonly openedHolds: readonly HoldRecord[]
  readonly closedHolds: readonly ({ holdId: string } & HoldClosing)[]
  /** Holds whose lease or approval changes (applied before `closedHolds`, so a hold may change and close in one operation). */
  readonly updatedHolds: readonly HoldUpdate[]
  /** Sessions whose controls counted something: their usage, whole (replaces the stored one). */
  readonly usage: readonly { sessionId: string; usage: SessionUsage }[]
  /**
   * Sealed entries, in append order. Each extends its session's chain: after applying, a
   * session's head is its last entry here (`seq`, `hash`).
   */
  readonly entries: readonly AuditEntry[]
  readonly idempotency: IdempotencyRecord | null
  /** Secrets to store or replace (an old-format ciphertext resealed when it was read). */
  readonly secrets: readonly StoredSecret[]
  /** About how many bytes `entries` take (their canonical JSON), for stores that bound a tenant's storage. */
  readonly bytes: number
  /** The ledger leaf hash of each entry, in the same order; `null` when the backend keeps no ledger. */
  readonly leaves: readonly string[] | null
  /**
   * What happened, for listeners and webhooks. A store that keeps an outbox writes these with the
   * rest of the changes (atomically: an event exists exactly when its change does).
   */
  readonly events: readonly HaldirEvent[]
}

/** What `decide` returns: the changes to apply, then the value to resolve with or the error to reject with. */
export interface Decision<T> {
  changes: Changes
  value?: T
  /** Set for a refusal that is recorded (its changes applied) and then reported. */
  error?: Error
  /**
   * The answer shows none of the entries (an allowed gate answers with its hold id): a store that
   * seals later may leave them unsealed until they are read (`StateStore.sealLater`).
   */
  sealLater?: boolean
}

/** How a store that seals later seals its entries: in the order they were appended. */
export interface LaterSealing {
  /** Seals `entry` after `head` (the chain's sealed end), reporting its leaf to `outputs` when the ledger is on. */
  seal(head: AuditHead, entry: AuditEntry, outputs: SealOutputs): AuditEntry
  /** Whether the tenant ledger is kept (then each sealed entry reports its leaf hash). */
  ledger: boolean
}

/** The tenant's log as a sequencer sees it, under the tenant's log lock. */
export interface LogState {
  size: number
  /** The hashes of `peaksOf(size)`, in that order. */
  peaks: string[]
  /** How many entries are not in the log yet (at most the limit asked): pending entry `i` becomes leaf `size + i`. */
  pendingCount: number
  /** Pending entry `offset`: read only where it has no stored leaf hash (a store may keep entries in a form that costs to read). */
  pendingEntry(offset: number): AuditEntry
  /** The leaf hash stored with each pending entry when it was sealed (`null` where there is none). */
  leafHashes: (string | null)[]
}

/** What a sequencer adds: every node that became complete (leaves included), and the new size. */
export interface LogExtension {
  nodes: LogNode[]
  size: number
}

export interface StateStore {
  /** For messages: `memory`, `postgres`. */
  readonly name: string
  /**
   * Loads and locks what `load` names, calls `decide` with it, applies the changes it returns,
   * then resolves with its `value` or, when it carries one, rejects with its `error`; all
   * atomically. If `decide` throws, nothing is applied and the error propagates. `decide` is
   * synchronous and pure: a store may call it again if it retries a transaction.
   */
  transact<T>(load: LoadRequest, decide: (state: LoadedState) => Decision<T>): Promise<T>
  /**
   * Optional: `transact` within this very call, returning the value or throwing the error (a
   * store whose state is in this process: memory). The engine then answers without waiting for
   * a promise, and settles a batch in one go.
   */
  transactNow?<T>(load: LoadRequest, decide: (state: LoadedState) => Decision<T>): T
  /** The session, unlocked; `null` if the tenant has none by that id. */
  readSession(tenant: string, sessionId: string): Promise<SessionRecord | null>
  readSpend(tenant: string, sessionId: string): Promise<StoredSpend | null>
  /** A session's entries in stored order, and its recorded head; `null` if the tenant has no such session. */
  readTrail(tenant: string, sessionId: string): Promise<{ entries: AuditEntry[]; head: AuditHead } | null>
  /** A page of the tenant's entries in stored order, filtered. */
  queryAudit(query: AuditQuery): Promise<AuditPage>
  /** Stores or replaces a sealed secret, and moves the tenant's config version. */
  putSecret(tenant: string, secret: StoredSecret, updatedAt: number): Promise<void>
  /** Every sealed secret of the tenant, and the config version they are at (read together). */
  listSecrets(tenant: string): Promise<{ version: string | null; secrets: StoredSecret[] }>
  /** Stores an approval rule of the tenant, and moves its config version. */
  putApprovalRule(tenant: string, rule: ApprovalRuleRecord, createdAt: number): Promise<void>
  /** Removes one; `false` when the tenant has no rule by that id. Moves the config version when it removes. */
  deleteApprovalRule(tenant: string, ruleId: string): Promise<boolean>
  /** The tenant's rules, oldest first. */
  listApprovalRules(tenant: string): Promise<ApprovalRuleRecord[]>
  /** The hold carrying an approval (open or closed); `null` if the tenant has none by that id. */
  readApproval(tenant: string, approvalId: string): Promise<HoldRecord | null>
  /** Holds carrying approvals of the tenant (of a status, of a session, only open holds), newest request first. */
  listApprovals(tenant: string, filter: ApprovalFilter): Promise<HoldRecord[]>
  /** Optional: removes a secret and moves the tenant's config version; `false` when the tenant has none by that name. */
  deleteSecret?(tenant: string, name: string, updatedAt: number): Promise<boolean>
  /** A hold of the tenant, open or closed; `null` if it has none by that id. */
  readHold(tenant: string, holdId: string): Promise<HoldRecord | null>
  /** Open holds of the tenant (of one session, when given), oldest first. */
  listHolds(tenant: string, sessionId: string | null, limit: number): Promise<HoldRecord[]>
  /** Open holds of the tenant whose lease ended at or before `at`, oldest lease first. */
  findExpiredHolds(tenant: string, at: number, limit: number): Promise<HoldRecord[]>
  /** The newest sessions of a tenant. */
  listSessions(tenant: string, limit: number): Promise<SessionRecord[]>
  /**
   * The ledger's sequencer step, under a lock per tenant: gives `extend` the log's size, peaks and
   * up to `limit` entries not yet in it, in an order fixed once and for all (entries of transactions
   * still running wait), and stores the leaves and nodes it returns. Resolves to the new size.
   */
  extendLog(tenant: string, limit: number, extend: (log: LogState) => LogExtension): Promise<number>
  /** The tenant's log size (what is sequenced). */
  logSize(tenant: string): Promise<number>
  /** Stored nodes of the tenant's log, by `nodeKey`; a key not stored is absent. */
  readLogNodes(tenant: string, keys: readonly NodeKey[]): Promise<Map<string, string>>
  /** The leaf index of an entry of the tenant, or `null` if it is not (yet) in the log. */
  leafIndexOf(tenant: string, entryId: string): Promise<number | null>
  /** Entries of the log in order from leaf `from`; a leaf whose entry is gone comes back as `null`. */
  readLogEntries(tenant: string, from: number, limit: number): Promise<{ leafIndex: number; entry: AuditEntry | null }[]>
  /** Records a head in the tree-head log (the first head of a size is kept). */
  recordTreeHead(tenant: string, head: TreeHead): Promise<void>
  treeHeads(tenant: string, sinceSize: number, limit: number): Promise<TreeHead[]>
  /** Tenants with entries not yet in their log (a schedule publishes heads for them). */
  tenantsWithPendingEntries(): Promise<string[]>
  /** A session's counters (descendants' slices counted as `readSpend` counts them) and every entry of it and its descendants (for re-deriving balances); `null` if absent. */
  readSubtree(tenant: string, sessionId: string): Promise<{ spentMicros: number; reservedMicros: number; trails: AuditEntry[][] } | null>
  /** The tenant's sessions (ids), for a full check. */
  sessionIds(tenant: string): Promise<string[]>
  /** Releases connections and timers. */
  close(): Promise<void>
  /**
   * Optional: the store takes the sealing of entries upon itself, answering `true`. The engine
   * then hands it entries placed in their chains but unsealed (`prevHash` and `hash` empty, leaves
   * not computed), and the store seals them in the order they were applied, with `sealing`:
   * before any read of entries, heads or the log, before answering any decision whose answer
   * shows an entry, and at the latest at the end of the turn. Only a store whose reads cannot
   * run while a seal is owed may (the memory store: one process, no await inside).
   */
  sealLater?(sealing: LaterSealing): boolean
}
