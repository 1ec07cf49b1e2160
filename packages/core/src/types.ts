import type { AuditEntry, AuditOutcome } from './audit/audit-entry.ts'
import type { AuditVerification } from './audit/verify-audit-chain.ts'
import type { ApprovalStatus, ApprovalTimeoutAction, DenialCode, HaldirBackend } from './backend/haldir-backend.ts'
import type { ApprovalPendingError } from './errors/approval-pending-error.ts'
import type { HaldirPermissionError } from './errors/haldir-permission-error.ts'
import type { HaldirEvent, HaldirEventType } from './events/haldir-event.ts'
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
  /** The session's own approval rules (its ancestors' and the tenant's apply too). */
  approvalRules: StoredApprovalRule[]
  /** Its budget windows, rate limits, call caps, active hours and alert thresholds, named (`window:0` …). */
  controls: SessionControlsView
}

/**
 * A budget besides the lifetime limit: USD per calendar `period` in `timeZone` (resets at the
 * period's start: `{ period: 'day', limit: 1, timeZone: 'Europe/Berlin' }` is $1 a day in Berlin),
 * or over the last `rolling` seconds. Money counts in the window it was reserved or charged in.
 */
export type BudgetWindow = { period: 'hour' | 'day' | 'week' | 'month'; limit: number; timeZone?: string } | { rolling: number; limit: number }

/** At most `calls` calls per `per` seconds (rolling), of every tool, or only of `tool`, or of calls needing `scope` (a pattern). */
export interface RateLimit {
  calls: number
  per: number
  tool?: string
  scope?: string
}

/** At most `max` calls of `tool` for the session's whole life (a run). */
export interface CallCap {
  tool: string
  max: number
}

/** Calls only between `start` and `end` (`HH:MM` in `timeZone`, default UTC); an `end` before `start` spans midnight. */
export interface ActiveHours {
  start: string
  end: string
  timeZone?: string
}

export interface SessionControlsView {
  windows: (BudgetWindow & { id: string })[]
  rateLimits: (RateLimit & { id: string })[]
  callCaps: (CallCap & { id: string })[]
  activeHours: Required<ActiveHours> | null
  alerts: number[]
}

/** A budget window as it stands now. */
export type WindowSpendView = ({ period: 'hour' | 'day' | 'week' | 'month'; timeZone: string } | { rolling: number }) & {
  id: string
  limitUsd: number
  spentUsd: number
  reservedUsd: number
  remainingUsd: number
  /** Calendar: when it resets. Rolling: when the oldest money in it leaves (`null`: empty). */
  resetsAt: string | null
}

/** What a rule may say besides what it matches. */
export interface ApprovalRuleOptions {
  /** What the approver reads; omitted: a reason made from the rule. */
  reason?: string
  /** Seconds a person has to decide (the money stays held meanwhile). @default 600 */
  timeout?: number
  /** What silence means once the time is up. @default 'deny' */
  onTimeout?: ApprovalTimeoutAction
}

/**
 * Which calls wait for a person: every call, calls costing more than `thresholdUsd`, calls of
 * named tools, calls needing a scope one of `scopes` covers (`payments:*`), or calls whose tool
 * name contains a destructive verb (`delete`, `write`, `execute`, `send` unless `verbs` says).
 * When several rules match, the shortest timeout applies and the timeout approves only if every
 * matching rule says so.
 */
export type ApprovalRule = (
  | { kind: 'all' }
  | { kind: 'spend_over'; thresholdUsd: number }
  | { kind: 'tool'; tools: string[] }
  | { kind: 'scope'; scopes: string[] }
  | { kind: 'destructive'; verbs?: string[] }
) &
  ApprovalRuleOptions

/** A rule as stored, with its id. */
export type StoredApprovalRule = ApprovalRule & { id: string }

/** What a caller's own code demands of one call (`requireApproval`): `true`, a reason, or a rule's options. */
export type RequireApproval = true | string | ApprovalRuleOptions

/** A call waiting for (or decided by) a person. Its cost is held from the request on. */
export interface Approval {
  id: string
  sessionId: string
  agentId: string
  /** The hold keeping the money while it waits (and after approval, until the call settles). */
  holdId: string
  /** `reserve`: a governed call runs once approved; `charge`: a payment is charged once approved. */
  mode: 'reserve' | 'charge'
  tool: string
  action: string
  scope: string | null
  amountUsd: number
  /** Why it needs a person. */
  reason: string
  status: ApprovalStatus
  requestedAt: string
  /** Pending: when it times out. Decided: when its hold's lease ends. */
  expiresAt: string
  onTimeout: ApprovalTimeoutAction
  decidedAt: string | null
  /** `null` until decided, and when the timeout or the session's end decided. */
  decidedBy: string | null
  note: string | null
  /** The approved call went on (it runs once). */
  used: boolean
  details: Record<string, unknown>
}

export interface DecideOptions {
  /** Who decides (recorded on the approval and in the trail); never the agent whose call it is. */
  by: string
  note?: string
}

export interface WaitForApprovalOptions {
  /** Seconds to wait at most (then the approval comes back as it stands, maybe still pending); omitted: until it is decided or times out. */
  timeout?: number
  /** Stops waiting (rejects with the signal's reason); the approval itself stays as it is. */
  signal?: AbortSignal
  /** Seconds between looks when the backend delivers no events. @default 0.5 */
  pollInterval?: number
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
  /** Calls of this session and its descendants that wait for a person. A child adds rules; it cannot drop its ancestors'. */
  approvalRules?: ApprovalRule[]
  /** Budgets that reset (`$1 a day`) or roll (`$5 per hour`), besides `spendLimit`; a child's and its ancestors' all apply. */
  windows?: BudgetWindow[]
  /** Calls per interval (of every tool, a tool, or a scope); refusals carry `retryAfterSeconds`. */
  rateLimits?: RateLimit[]
  /** Calls of a tool per session (per run). */
  callCaps?: CallCap[]
  /** Hours of the day calls are allowed in. */
  activeHours?: ActiveHours
  /** Fractions of the limit and of every window at which `threshold.crossed` fires, once per window (e.g. `[0.5, 0.8, 1]`). */
  alerts?: number[]
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
  /** Send this payment to a person first (besides what the rules say): it throws `ApprovalPendingError`, with the cost held. */
  requireApproval?: RequireApproval
  /** Go on with an approved payment: it is charged from the money held since the request. */
  approvalId?: string
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
  /** Send this reservation to a person first: it throws `ApprovalPendingError`, with the amount held. */
  requireApproval?: RequireApproval
  /** Go on with an approved reservation: the hold kept since the request becomes yours. */
  approvalId?: string
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
  /** Every budget window, as it stands now. */
  windows: WindowSpendView[]
  /** Every rate limit: calls counted now, and when the oldest leaves. */
  rateLimits: { id: string; calls: number; per: number; tool: string | null; scope: string | null; used: number; resetsAt: string | null }[]
  callCaps: { id: string; tool: string; max: number; used: number }[]
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
  /** Send this call to a person (a predicate in your code decided so), besides what the rules say. */
  requireApproval?: RequireApproval
  /** Go on with the approval this call was sent to (once approved; the same call only). */
  approvalId?: string
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
  | { allowed: false; pending?: false; error: HaldirPermissionError; reason: string; entry: AuditEntry }
  /** Nothing ran: the cost is held while a person decides; go on with `approvalId` once approved. */
  | { allowed: false; pending: true; approval: Approval; error: ApprovalPendingError; reason: string; entry: AuditEntry | null }

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
  /** Approves a waiting call: final; its hold becomes an ordinary hold for the call to go on with. */
  approve(approvalId: string, options: DecideOptions): Promise<Approval>
  /** Denies a waiting call: final; its hold is released, nothing runs. */
  deny(approvalId: string, options: DecideOptions): Promise<Approval>
  getApproval(approvalId: string): Promise<Approval>
  /** The tenant's approvals (of a status, of a session), newest first. */
  listApprovals(options?: { status?: ApprovalStatus; sessionId?: string; limit?: number }): Promise<Approval[]>
  /** Resolves once the approval is decided (or times out), or after `timeout` seconds with it as it stands. */
  waitForApproval(approvalId: string, options?: WaitForApprovalOptions): Promise<Approval>
  /** A rule for every session of the tenant. */
  addApprovalRule(rule: ApprovalRule): Promise<StoredApprovalRule>
  listApprovalRules(): Promise<StoredApprovalRule[]>
  removeApprovalRule(ruleId: string): Promise<void>
  /** Listens to the tenant's events (`'*'`: all of them); returns the unsubscribe. */
  on(type: HaldirEventType | '*', listener: (event: HaldirEvent) => void): () => void
  /** Waits until the settles of completed governed calls this client queued have been written. */
  flush(): Promise<void>
  /** Writes queued settles, then closes the backend. */
  close(): Promise<void>
}
