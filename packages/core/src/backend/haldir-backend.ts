/**
 * The backend contract, version 2.
 *
 * A backend performs each governance operation **atomically** and holds the state (sessions,
 * counters, holds, the audit chain, sealed secrets). It does not decide policy: a stateful
 * backend is core's engine (`createStatefulBackend` in `@haldir/core/backend`) over a
 * `StateStore` that only loads locked state and applies the changes core's plans return; a
 * remote backend (`httpBackend`) forwards each operation to a server that runs one. Money is
 * integer micro-dollars throughout; times are epoch milliseconds.
 *
 * Every request carries a `tenant`: a backend keeps tenants apart (a session, secret or entry of
 * one tenant is `NotFoundError` to another). Validation of requests happens before they reach a
 * backend (`backendRequestSchemas`), so a backend may trust their shapes.
 *
 * Prove a backend with the conformance suite: `testBackend()` from `@haldir/core/testing`.
 */
import type { AuditEntry, AuditOutcome } from '../audit/audit-entry.ts'
import type { AuditVerification } from '../audit/verify-audit-chain.ts'
import type { ConsistencyProof, InclusionProof, LedgerKey, LedgerPage, LedgerVerification } from '../ledger/ledger-types.ts'
import type { TreeHead } from '../ledger/tree-head.ts'
import type { HaldirEvent } from '../events/haldir-event.ts'
import type { HaldirErrorJson } from '../errors/error-from-json.ts'

/** The contract version this `@haldir/core` speaks; `createHaldir` refuses a backend of another. */
export const BACKEND_CONTRACT_VERSION = 2

export interface SessionRecord {
  id: string
  tenant: string
  agentId: string
  scopes: readonly string[]
  /** `null`: no limit (still metered). */
  limitMicros: number | null
  createdAt: number
  expiresAt: number
  parentId: string | null
  revokedAt: number | null
  metadata: Record<string, unknown>
  /** Calls of this session and its descendants that wait for a person (a child adds to its ancestors' rules, never removes them). */
  approvalRules: readonly ApprovalRuleRecord[]
  /** Budget windows, rate limits, call caps, active hours and alert thresholds; `null`: none. Like limits, a child's and its ancestors' all apply. */
  controls: SessionControls | null
}

/** A calendar period of a budget window, in a time zone (weeks start on Monday). */
export type CalendarPeriod = 'hour' | 'day' | 'week' | 'month'

/**
 * A budget besides the lifetime limit: spend and reservations of a calendar period (`$10 a
 * day` in a zone; resets at the period's start) or of the last `durationMs` (rolling). Money
 * counts in the window it was reserved or charged in.
 */
export type WindowRule = { id: string; limitMicros: number } & ({ kind: 'calendar'; period: CalendarPeriod; timeZone: string } | { kind: 'rolling'; durationMs: number })

/** At most `calls` calls per `perMs` (rolling), of every tool or of one tool or scope pattern. */
export interface RateLimitRule {
  id: string
  calls: number
  perMs: number
  tool: string | null
  scope: string | null
}

/** At most `max` calls of a tool for the session's whole life (a run). */
export interface CallCapRule {
  id: string
  tool: string
  max: number
}

/** Calls only between `start` and `end` (hours and minutes, `HH:MM`, in `timeZone`; `end` before `start` wraps past midnight). */
export interface ActiveHoursRule {
  start: string
  end: string
  timeZone: string
}

export interface SessionControls {
  windows: readonly WindowRule[]
  rateLimits: readonly RateLimitRule[]
  callCaps: readonly CallCapRule[]
  activeHours: ActiveHoursRule | null
  /** Fractions of the limit and of every window (ascending, in (0, 1]) at which `threshold.crossed` fires, once per window. */
  thresholds: readonly number[]
}

/** What a window holds now, as `getSpend` reports it. */
export interface WindowSpend {
  id: string
  kind: 'calendar' | 'rolling'
  period: CalendarPeriod | null
  timeZone: string | null
  durationMs: number | null
  limitMicros: number
  spentMicros: number
  reservedMicros: number
  /** Calendar: when the period ends and the window resets. Rolling: when the oldest money in it leaves (`null`: empty). */
  resetsAt: number | null
}

export interface RateLimitUse {
  id: string
  calls: number
  perMs: number
  tool: string | null
  scope: string | null
  used: number
  /** When the oldest counted call leaves the window (`null`: none counted). */
  resetsAt: number | null
}

export interface CallCapUse {
  id: string
  tool: string
  max: number
  used: number
}

/** What a person's silence means once an approval's time is up. */
export type ApprovalTimeoutAction = 'deny' | 'approve'

/** Where an approval stands. `expired`: nobody decided in time (or the session ended first), the money was released. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired'

/**
 * Which calls a rule sends to a person: every call (`all`), calls costing more than a threshold
 * (`spend_over`), calls of named tools (`tool`), calls needing a scope a pattern covers
 * (`scope`), or calls whose tool name is a destructive verb (`destructive`: `delete`, `write`,
 * `execute`, `send` unless `verbs` says otherwise).
 */
export type ApprovalRuleMatch =
  | { kind: 'all' }
  | { kind: 'spend_over'; thresholdMicros: number }
  | { kind: 'tool'; tools: readonly string[] }
  | { kind: 'scope'; scopes: readonly string[] }
  | { kind: 'destructive'; verbs: readonly string[] | null }

/** A rule as stored: its match, why it asks (for the approver), and how long a person has. */
export type ApprovalRuleRecord = ApprovalRuleMatch & {
  id: string
  /** Shown to the approver; `null`: a reason made from the rule. */
  reason: string | null
  /** How long a person has to decide; `null`: the default (10 minutes). */
  timeoutMs: number | null
  /** `null`: `deny`. */
  onTimeout: ApprovalTimeoutAction | null
}

/** A rule as a caller adds it (the backend gives it its id). */
export type ApprovalRuleInput = ApprovalRuleMatch & Omit<ApprovalRuleRecord, 'id' | keyof ApprovalRuleMatch>

/** A call a client's own code sends to a person (a predicate in code), with the same options a rule has. */
export interface ApprovalDemand {
  reason: string
  timeoutMs: number | null
  onTimeout: ApprovalTimeoutAction | null
}

/**
 * A call waiting for (or decided by) a person. Its money is held from the request on: while it
 * waits, nobody else can spend it, and approving it can never overdraw.
 */
export interface ApprovalRecord {
  id: string
  sessionId: string
  agentId: string
  /** The hold that keeps the money while the approval waits, and after it is approved until the call settles. */
  holdId: string
  /** `reserve`: a governed call runs once approved; `charge`: a payment is charged once approved. */
  mode: 'reserve' | 'charge'
  tool: string
  action: string
  scope: string | null
  amountMicros: number
  /** Why it needs a person (the matching rules, or the caller's reason). */
  reason: string
  status: ApprovalStatus
  requestedAt: number
  /** Pending: when it times out. Decided: when its hold's lease ends (or ended). */
  expiresAt: number
  onTimeout: ApprovalTimeoutAction
  decidedAt: number | null
  /** Who decided; `null` until decided, and when the timeout or the session's end decided. */
  decidedBy: string | null
  note: string | null
  /** The approved call was let through (it runs once). */
  used: boolean
  details: Record<string, unknown>
}

export interface TenantRequest {
  tenant: string
}

export interface SessionRequest extends TenantRequest {
  sessionId: string
}

export interface CreateSessionRequest extends TenantRequest {
  agentId: string
  scopes: readonly string[]
  limitMicros: number | null
  /** Requested time to live, in milliseconds; clamped to the parent's expiry. */
  ttlMs: number
  parentId: string | null
  metadata: Record<string, unknown>
  /** Rules that make calls of this session (and its descendants) wait for a person. */
  approvalRules: readonly ApprovalRuleInput[]
  /** Budget windows, rate limits, call caps, active hours, alert thresholds (ids given by the backend); `null`: none. */
  controls: SessionControlsInput | null
}

/** Controls as a caller gives them: the backend names each window, rate limit and cap. */
export interface SessionControlsInput {
  windows: readonly DistributiveOmit<WindowRule, 'id'>[]
  rateLimits: readonly Omit<RateLimitRule, 'id'>[]
  callCaps: readonly Omit<CallCapRule, 'id'>[]
  activeHours: ActiveHoursRule | null
  thresholds: readonly number[]
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/**
 * - `check`: scope and liveness only; nothing is held.
 * - `reserve`: scope, liveness and budget; holds `amountMicros` until `settle`.
 * - `charge`: scope, liveness and budget; charges `amountMicros` at once and audits it.
 */
export type AuthorizeMode = 'check' | 'reserve' | 'charge'

export interface AuthorizeRequest extends SessionRequest {
  mode: AuthorizeMode
  /** `null`: no scope is required (a plain payment). */
  scope: string | null
  tool: string
  action: string
  amountMicros: number
  /**
   * One key, one execution, per tenant: a retry of the same request returns the first result and
   * charges once (re-checking liveness); another request under the key is `IdempotencyError`
   * (`idempotency_conflict`); a retry of a gate whose hold is already closed is refused
   * (`idempotency_replayed`), so the call never runs twice.
   */
  idempotencyKey: string | null
  /** `reserve` mode: how long the hold may stay open (never past the session's expiry); `null`: the default lease. */
  holdTtlMs: number | null
  /** The caller's own code asks a person (beside the session's and the tenant's rules); `null`: only the rules decide. */
  approval: ApprovalDemand | null
  /**
   * Goes on with an approval this call was sent to: approved and not used yet, it lets the call
   * through on the money held since the request (once); the request must be the same call.
   */
  approvalId: string | null
  details: Record<string, unknown>
}

/**
 * `approval_denied`: a person said no, or nobody said yes in time. `rate_limited`: a rate limit
 * is full (retry later). `call_cap_reached`: a tool's calls for the session are used up.
 * `outside_hours`: the session's active hours are over (retry when they begin).
 */
export type DenialCode = 'permission_denied' | 'budget_exceeded' | 'session_expired' | 'session_revoked' | 'approval_denied' | 'rate_limited' | 'call_cap_reached' | 'outside_hours'

export type AuthorizeResult =
  | {
      allowed: true
      /** Set in `reserve` mode. */
      holdId: string | null
      /** Set in `charge` mode: the payment's audit entry. */
      entry: AuditEntry | null
    }
  | {
      allowed: false
      code: DenialCode
      reason: string
      /** Structured facts of the refusal (limits, the limiting ancestor, the expiry …). */
      facts: Record<string, unknown>
      /** Every denial is audited, flagged. */
      entry: AuditEntry
      approval?: undefined
    }
  | {
      /** Nothing runs yet: the money is held while a person decides. */
      allowed: false
      code: 'approval_pending'
      reason: string
      facts: Record<string, unknown>
      approval: ApprovalRecord
      /** The request's entry when this call made it; `null` when it asks about an approval already waiting. */
      entry: AuditEntry | null
    }

export interface SettleRequest extends SessionRequest {
  holdId: string
  /** What to charge of the hold (≤ the held amount); 0 releases it all. */
  amountMicros: number
  outcome: AuditOutcome
  action: string
  flagged: boolean
  reason: string | null
  details: Record<string, unknown>
}

export interface SettleResult {
  entry: AuditEntry
  chargedMicros: number
}

/** The most gates one `authorizeMany` request carries. */
export const MAX_AUTHORIZE_BATCH = 200

/** Many gates in one request: each as `authorize` would take it, without the tenant (the request's). */
export interface AuthorizeManyRequest extends TenantRequest {
  authorizations: readonly Omit<AuthorizeRequest, 'tenant'>[]
}

/** What became of one gate of a batch: its decision (a denial included), or its error as it travels. */
export type AuthorizeOutcome = ({ ok: true } & AuthorizeResult) | { ok: false; error: HaldirErrorJson }

/** One outcome per gate of the request, in its order. */
export interface AuthorizeManyResult {
  results: AuthorizeOutcome[]
}

/** The most settles one `settleMany` request carries. */
export const MAX_SETTLE_BATCH = 500

/** Many settles in one request: each as `settle` would take it, without the tenant (the request's). */
export interface SettleManyRequest extends TenantRequest {
  settles: readonly Omit<SettleRequest, 'tenant'>[]
}

/** What became of one settle of a batch: its result, or its error as it travels (`HaldirError#toJSON`). */
export type SettleOutcome = ({ ok: true } & SettleResult) | { ok: false; error: HaldirErrorJson }

/** One outcome per settle of the request, in its order. */
export interface SettleManyResult {
  results: SettleOutcome[]
}

export interface AppendAuditRequest extends SessionRequest {
  tool: string
  action: string
  scope: string | null
  outcome: AuditOutcome
  flagged: boolean
  reason: string | null
  /** Recorded on the entry, not charged. */
  costMicros: number
  details: Record<string, unknown>
}

export interface SpendRecord {
  /** Settled charges of the session and all its descendants. */
  spentMicros: number
  reservedMicros: number
  limitMicros: number | null
  byTool: Record<string, number>
  /** Every budget window of the session, as it stands now. */
  windows: WindowSpend[]
  rateLimits: RateLimitUse[]
  callCaps: CallCapUse[]
}

export interface AuditQuery extends TenantRequest {
  sessionId: string | null
  agentId: string | null
  outcome: AuditOutcome | null
  flagged: boolean | null
  limit: number
  offset: number
}

export interface AuditPage {
  /** How many entries match in all (not just this page). */
  count: number
  entries: AuditEntry[]
  nextOffset: number | null
}

export interface RevokeRequest extends SessionRequest {
  reason: string | null
}

export interface RevokeResult {
  /** The session and every descendant revoked by this call. */
  revokedSessionIds: string[]
}

export interface PutSecretRequest extends TenantRequest {
  name: string
  value: string
  scopeRequired: string | null
}

export interface ReadSecretRequest extends SessionRequest {
  name: string
}

export interface DeleteSecretRequest extends TenantRequest {
  name: string
}

/** A secret as it is listed: its name and the scope that opens it, never its value. */
export interface SecretInfo {
  name: string
  scopeRequired: string | null
}

export interface ListSessionsRequest extends TenantRequest {
  limit: number
}

export interface ListHoldsRequest extends TenantRequest {
  /** Only this session's holds; `null`: the tenant's. */
  sessionId: string | null
  limit: number
}

/** An open reservation, as operators list it. */
export interface HoldInfo {
  id: string
  sessionId: string
  amountMicros: number
  tool: string
  scope: string | null
  createdAt: number
  /** When the lease ends and the hold is released unless settled. */
  expiresAt: number
}

export interface ReleaseHoldRequest extends TenantRequest {
  holdId: string
  reason: string | null
}

export interface InclusionProofRequest extends TenantRequest {
  entryId: string
  /** Prove against the log of this many leaves (a head you hold); `null`: the current log. */
  treeSize: number | null
}

export interface ConsistencyProofRequest extends TenantRequest {
  first: number
  second: number
}

export interface TreeHeadsRequest extends TenantRequest {
  /** Heads of sizes greater than this. */
  sinceSize: number
  limit: number
}

export interface LedgerPageRequest extends TenantRequest {
  /** The first leaf index. */
  from: number
  limit: number
}

export interface VerifyLedgerRequest extends TenantRequest {
  /** A head the verifier kept: the log must still contain it (consistency is checked). */
  earlierHead: TreeHead | null
}

export interface ApprovalRequest extends TenantRequest {
  approvalId: string
}

export interface DecideApprovalRequest extends ApprovalRequest {
  decision: 'approve' | 'deny'
  /** Who decides (an approver's identity); never the agent whose call it is. */
  decidedBy: string
  note: string | null
}

export interface ListApprovalsRequest extends TenantRequest {
  /** `null`: every status. */
  status: ApprovalStatus | null
  /** `null`: the tenant's. */
  sessionId: string | null
  limit: number
}

export interface AddApprovalRuleRequest extends TenantRequest {
  rule: ApprovalRuleInput
}

export interface RemoveApprovalRuleRequest extends TenantRequest {
  ruleId: string
}

export interface SweepHoldsRequest extends TenantRequest {
  /** At most this many expired holds are released in one call. */
  limit: number
}

export interface HaldirBackend {
  /** Which contract the backend implements: {@link BACKEND_CONTRACT_VERSION}. */
  readonly contractVersion: typeof BACKEND_CONTRACT_VERSION
  /** For messages and the dashboard: `memory`, `http`, `postgres`. */
  readonly name: string
  /** Creates a root or child session (attenuation via `planChildSession`). */
  createSession(request: CreateSessionRequest): Promise<SessionRecord>
  /** `NotFoundError` if absent for this tenant. */
  getSession(request: SessionRequest): Promise<SessionRecord>
  /** The gate: one atomic decision over scope, liveness (session + ancestors) and budget (session + ancestors). */
  authorize(request: AuthorizeRequest): Promise<AuthorizeResult>
  /**
   * Closes a hold: charges up to its amount, releases the rest, appends the entry (its details
   * are the authorize request's details merged with the settle request's). Idempotent per hold.
   */
  settle(request: SettleRequest): Promise<SettleResult>
  /**
   * Optional: many settles in one request, each decided on its own (one refused does not stop
   * the others), as `settle` would. A client sends the settles of completed calls in batches.
   */
  settleMany?(request: SettleManyRequest): Promise<SettleManyResult>
  /**
   * Optional: many gates in one request, each decided on its own as `authorize` would decide it
   * (one refused or failing does not stop the others). A client over HTTP sends the gates of
   * concurrent callers together while an earlier request is under way.
   */
  authorizeMany?(request: AuthorizeManyRequest): Promise<AuthorizeManyResult>
  /**
   * Optional: how a client over this backend settles governed calls unless told otherwise
   * (`createHaldir({ settle })`). `'inline'` where a settle written later would cost more than it
   * saves the caller. @default 'deferred'
   */
  readonly defaultSettle?: 'deferred' | 'inline'
  /** Appends an entry without charging. */
  appendAudit(request: AppendAuditRequest): Promise<AuditEntry>
  getSpend(request: SessionRequest): Promise<SpendRecord>
  queryAudit(request: AuditQuery): Promise<AuditPage>
  /** Recomputes the session's chain with the audit key (`verifyAuditChain`). */
  verifyAudit(request: SessionRequest): Promise<AuditVerification>
  /** Revokes the session and its descendants, auditing each. */
  revokeSession(request: RevokeRequest): Promise<RevokeResult>
  /** Seals and stores (or replaces) a secret. */
  putSecret(request: PutSecretRequest): Promise<void>
  /** Opens a secret for a live session holding its scope; audits the read (never the value). */
  readSecret(request: ReadSecretRequest): Promise<string>
  /** Open holds of the tenant or of one session, oldest first. */
  listHolds(request: ListHoldsRequest): Promise<HoldInfo[]>
  /** An operator releases an open hold: nothing charged, audited (flagged) on its session's trail. */
  releaseHold(request: ReleaseHoldRequest): Promise<AuditEntry>
  /** Releases (and audits) the tenant's holds whose lease ended; returns how many. */
  sweepHolds(request: SweepHoldsRequest): Promise<{ released: number }>
  /** The tenant's log as it stands, signed; recorded in the tree-head log. */
  treeHead(request: TenantRequest): Promise<TreeHead>
  /** Where an entry sits in the tenant's log, with its audit path to the current root. */
  inclusionProof(request: InclusionProofRequest): Promise<InclusionProof>
  /** That the log of `first` leaves is a prefix of the log of `second` leaves (`second` ≤ the current size). */
  consistencyProof(request: ConsistencyProofRequest): Promise<ConsistencyProof>
  /** The tree-head log: every head published, by size. */
  treeHeads(request: TreeHeadsRequest): Promise<TreeHead[]>
  /** The keys that sign (and signed) tree heads. */
  ledgerKeys(request: TenantRequest): Promise<LedgerKey[]>
  /** The log in order, from a leaf on: the entries an export carries and an auditor recomputes. */
  ledgerPage(request: LedgerPageRequest): Promise<LedgerPage>
  /** Recomputes every leaf from its entry, the root, and every session's balances; and checks consistency with an earlier head. */
  verifyLedger(request: VerifyLedgerRequest): Promise<LedgerVerification>
  /** The approval, as it stands (one whose time ran out is timed out first). */
  getApproval(request: ApprovalRequest): Promise<ApprovalRecord>
  /** The tenant's approvals (of one session, of one status), newest first. */
  listApprovals(request: ListApprovalsRequest): Promise<ApprovalRecord[]>
  /**
   * A person's decision, final and atomic: of two deciders, one wins and the other gets
   * `ApprovalError` (`approval_decided`). Approve: the hold becomes an ordinary hold (its lease
   * starts) for the call to go on with; deny: the hold is released. Audited either way.
   */
  decideApproval(request: DecideApprovalRequest): Promise<ApprovalRecord>
  /** Adds a rule for every session of the tenant. */
  addApprovalRule(request: AddApprovalRuleRequest): Promise<ApprovalRuleRecord>
  listApprovalRules(request: TenantRequest): Promise<ApprovalRuleRecord[]>
  /** `NotFoundError` when the tenant has no such rule. */
  removeApprovalRule(request: RemoveApprovalRuleRequest): Promise<void>
  /** Optional: events of the tenant as they happen (approvals requested and decided, denials, expiries, revocations); returns the unsubscribe. */
  subscribe?(request: TenantRequest, listener: (event: HaldirEvent) => void): () => void
  /** Optional: signs and records a head for every tenant with new entries (a server runs it on a schedule); resolves to how many. */
  publishTreeHeads?(): Promise<number>
  /** Optional: the tenant's secrets, by name: names and required scopes, never values. */
  listSecrets?(request: TenantRequest): Promise<SecretInfo[]>
  /** Optional: removes a secret (a session can no longer open it); `NotFoundError` when the tenant has none by that name. */
  deleteSecret?(request: DeleteSecretRequest): Promise<void>
  /** Optional: the newest sessions of a tenant (the dashboard uses it). */
  listSessions?(request: ListSessionsRequest): Promise<SessionRecord[]>
  /** Optional: releases connections and timers. */
  close?(): Promise<void>
}
