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
}

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
  details: Record<string, unknown>
}

export type DenialCode = 'permission_denied' | 'budget_exceeded' | 'session_expired' | 'session_revoked'

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
