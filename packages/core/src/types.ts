import type { AuditEntry, AuditOutcome } from './audit/audit-entry.ts'
import type { AuditVerification } from './audit/verify-audit-chain.ts'
import type { DenialCode, HaldirBackend } from './backend/haldir-backend.ts'
import type { HaldirPermissionError } from './errors/haldir-permission-error.ts'
import type { ConsistencyProof, InclusionProof, LedgerKey, LedgerPage, LedgerVerification } from './ledger/ledger-types.ts'
import type { TreeHead } from './ledger/tree-head.ts'

/** A governed agent's session, with money in USD and times in ISO 8601. */
export interface Session {
  id: string
  agentId: string
  scopes: string[]
  /** `null`: unlimited (still metered). */
  spendLimit: number | null
  createdAt: string
  expiresAt: string
  parentId: string | null
  revokedAt: string | null
  metadata: Record<string, unknown>
}

export interface CreateSessionOptions {
  agentId: string
  /** What the agent may do: exact scopes, `prefix:*` wildcards or `*`. @default [] */
  scopes?: string[]
  /** USD; omitted or `null` for no limit. */
  spendLimit?: number | null
  /** Seconds; a child's is clamped to its parent's expiry. @default 3600 */
  ttl?: number
  /** Makes this a child session: its scopes must be a subset and every charge also counts against the parent. */
  parentId?: string | null
  metadata?: Record<string, unknown>
}

export interface CheckPermissionOptions {
  /** What the check is for, as the audit entry of a refusal names it. @default 'haldir' */
  tool?: string
  details?: Record<string, unknown>
}

export type PermissionResult = { allowed: true } | { allowed: false; code: DenialCode; reason: string }

export interface PaymentOptions {
  description?: string
  /** Recorded as the entry's tool and in `byTool`. @default 'payment' */
  tool?: string
  /** A scope the session must hold for this payment. */
  scope?: string | null
  /** A retry with the same key returns the first receipt and charges once. */
  idempotencyKey?: string
  details?: Record<string, unknown>
}

export interface PaymentReceipt {
  sessionId: string
  amountUsd: number
  entry: AuditEntry
}

export interface ReserveOptions {
  /** @default 'reserve' */
  tool?: string
  scope?: string | null
  /** One key, one reservation: a retry returns the same hold; once the hold is closed, a retry is refused. */
  idempotencyKey?: string
  /** Seconds the hold stays open before its lease ends and it is released (never past the session's expiry). @default 900 */
  holdTtl?: number
  details?: Record<string, unknown>
}

export interface SettleOptions {
  /** @default 'execute' */
  action?: string
  details?: Record<string, unknown>
  flagged?: boolean
  reason?: string
}

export interface ReleaseOptions {
  /** Audits the release as an `error` outcome with the error's message. */
  error?: unknown
  action?: string
  reason?: string
  details?: Record<string, unknown>
}

/** Money held by `reserve()` until it is settled (charged, the rest released) or released. */
export interface Hold {
  readonly id: string
  readonly sessionId: string
  readonly amountUsd: number
  /** Charges `actualUsd` (≤ the held amount), releases the rest, writes the audit entry. */
  settle(actualUsd: number, options?: SettleOptions): Promise<AuditEntry>
  /** Charges nothing; audits an `error` outcome when given `error`. */
  release(options?: ReleaseOptions): Promise<AuditEntry>
}

export interface LogActionInput {
  tool: string
  /** @default 'execute' */
  action?: string
  scope?: string | null
  /** @default 'ok' */
  outcome?: AuditOutcome
  flagged?: boolean
  reason?: string | null
  /** Recorded on the entry; not charged (use `authorizePayment` to charge). @default 0 */
  costUsd?: number
  details?: Record<string, unknown>
}

export interface Spend {
  /** Settled charges of the session and its descendants. */
  totalUsd: number
  limitUsd: number | null
  /** `limit − total − reserved`; `null` without a limit. */
  remainingUsd: number | null
  reservedUsd: number
  byTool: Record<string, number>
}

export interface AuditTrailQuery {
  sessionId?: string
  agentId?: string
  outcome?: AuditOutcome
  flagged?: boolean
  /** @default 1000 */
  limit?: number
  /** @default 0 */
  offset?: number
}

export interface AuditTrail {
  count: number
  entries: AuditEntry[]
  nextOffset: number | null
}

export interface GateOptions {
  sessionId: string
  scope?: string | null
  tool: string
  /** @default 'execute' */
  action?: string
  /** Reserved before the call runs. @default 0 */
  maxCostUsd?: number
  /** One key, one execution: a retry returns the same hold; once the hold is closed, a retry is refused. */
  idempotencyKey?: string
  /** Seconds the hold stays open before its lease ends and it is released (never past the session's expiry). @default 900 */
  holdTtl?: number
  details?: Record<string, unknown>
}

/** An open reservation, as `listHolds` reports it. */
export interface HoldSummary {
  id: string
  sessionId: string
  amountUsd: number
  tool: string
  scope: string | null
  createdAt: string
  /** When the lease ends and the hold is released unless it is settled first. */
  expiresAt: string
}

export type GateDecision =
  | { allowed: true; hold: Hold }
  | { allowed: false; error: HaldirPermissionError; reason: string; entry: AuditEntry }

export interface StoreSecretOptions {
  /** A session needs this scope to read the secret; omitted: any live session of the tenant. */
  scopeRequired?: string | null
}

export interface Haldir {
  readonly backend: HaldirBackend
  createSession(options: CreateSessionOptions): Promise<Session>
  getSession(sessionId: string): Promise<Session>
  /** Scope and liveness; a refusal is audited (under `options.tool`) and returned, never thrown. */
  checkPermission(sessionId: string, scope: string, options?: CheckPermissionOptions): Promise<PermissionResult>
  /** Charges now. @throws BudgetExceededError, PermissionDeniedError, SessionExpiredError, SessionRevokedError */
  authorizePayment(sessionId: string, amountUsd: number, options?: PaymentOptions): Promise<PaymentReceipt>
  /** Two-phase: holds `amountUsd` until the hold is settled or released. Throws like `authorizePayment`. */
  reserve(sessionId: string, amountUsd: number, options?: ReserveOptions): Promise<Hold>
  /** The one-call gate the adapters use: scope + liveness + budget + reservation; refusals are returned. */
  gate(options: GateOptions): Promise<GateDecision>
  logAction(sessionId: string, input: LogActionInput): Promise<AuditEntry>
  getSpend(sessionId: string): Promise<Spend>
  getAuditTrail(query: AuditTrailQuery): Promise<AuditTrail>
  verifyAuditTrail(sessionId: string): Promise<AuditVerification>
  /** Revokes the session and every descendant. */
  revokeSession(sessionId: string, options?: { reason?: string }): Promise<{ revokedSessionIds: string[] }>
  storeSecret(name: string, value: string, options?: StoreSecretOptions): Promise<void>
  /** @throws PermissionDeniedError without the secret's scope; NotFoundError for an unknown name */
  getSecret(name: string, options: { sessionId: string }): Promise<string>
  /** The tenant's secrets by name: names and the scope each needs, never a value. */
  listSecrets(): Promise<{ name: string; scopeRequired: string | null }[]>
  /** Removes a secret: no session can open it any more. @throws NotFoundError for an unknown name */
  deleteSecret(name: string): Promise<void>
  /** Open holds of the tenant, or of one session: what is reserved, by what, until when. */
  listHolds(options?: { sessionId?: string; limit?: number }): Promise<HoldSummary[]>
  /** Releases an open hold (a stuck call, say): nothing charged; audited and flagged on its session. */
  releaseHold(holdId: string, options?: { reason?: string }): Promise<AuditEntry>
  /** Releases every hold whose lease ended, auditing each; resolves to how many. */
  sweepHolds(): Promise<{ released: number }>
  /** The tenant's log as it stands: size and root, signed with Ed25519 (and recorded in the tree-head log). */
  getTreeHead(): Promise<TreeHead>
  /** Where an entry sits in the tenant's log, with the audit path that proves it. */
  getInclusionProof(entryId: string, options?: { treeSize?: number }): Promise<InclusionProof>
  /** That the log of `first` entries is a prefix of the log of `second` entries. */
  getConsistencyProof(first: number, second: number): Promise<ConsistencyProof>
  /** The tree-head log: every head published, oldest first. */
  listTreeHeads(options?: { sinceSize?: number; limit?: number }): Promise<TreeHead[]>
  /** The public keys that sign (and signed) the tenant's tree heads. */
  getLedgerKeys(): Promise<LedgerKey[]>
  /**
   * Recomputes every leaf of the tenant's log from its entry, the root, every session's chain and
   * balances; with `earlierHead` (a head you kept), also that the log still contains it.
   */
  verifyLedger(options?: { earlierHead?: TreeHead }): Promise<LedgerVerification>
  /** The tenant's log in order from leaf `from`: each entry with its leaf index, and the log's size. */
  readLedger(options?: { from?: number; limit?: number }): Promise<LedgerPage>
  close(): Promise<void>
}
