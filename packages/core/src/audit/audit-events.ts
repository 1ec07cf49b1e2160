import type { AppendAuditRequest, AuthorizeRequest, SessionRecord, SettleRequest } from '../backend/haldir-backend.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import type { AuthorizationDecision } from '../policy/decide-authorization.ts'
import type { AuditEntryInput } from './audit-entry.ts'

/** What an entry about a hold names of it. */
interface HoldFacts {
  id: string
  tool: string
  scope: string | null
  amountMicros: number
}

/** What a backend appends for an event; it adds the session, agent, time and chain fields. */
export type AuditEvent = Omit<AuditEntryInput, 'sessionId' | 'agentId' | 'timestamp'>

/**
 * The audit entry of every governance event, defined once so every backend writes the same
 * trail for the same history (and a trail reads the same whichever backend wrote it).
 */
export const auditEvents = {
  sessionCreated(record: SessionRecord): AuditEvent {
    return {
      tool: 'haldir',
      action: 'session.create',
      scope: null,
      outcome: 'ok',
      flagged: false,
      reason: null,
      costUsd: 0,
      details: {
        scopes: record.scopes,
        spendLimitUsd: record.limitMicros === null ? null : microsToUsd(record.limitMicros),
        parentId: record.parentId,
        expiresAt: new Date(record.expiresAt).toISOString(),
        // Only when it has some: trails of sessions without rules read as before.
        ...(record.approvalRules.length > 0 ? { approvalRules: record.approvalRules } : {}),
        // Every money entry of this session carries a ledger mark: its balances can be re-derived.
        ledger: 1,
      },
    }
  },

  /** A refusal of the gate: flagged, nothing charged, the requested amount kept for the reviewer. */
  denied(request: AuthorizeRequest, decision: Extract<AuthorizationDecision, { allowed: false }>): AuditEvent {
    return {
      tool: request.tool,
      action: request.action,
      scope: request.scope,
      outcome: 'denied',
      flagged: true,
      reason: decision.reason,
      costUsd: 0,
      details: { ...request.details, requestedUsd: microsToUsd(request.amountMicros) },
    }
  },

  /** A payment charged at once (`charge` mode). */
  charged(request: AuthorizeRequest): AuditEvent {
    return {
      tool: request.tool,
      action: request.action,
      scope: request.scope,
      outcome: 'ok',
      flagged: false,
      reason: null,
      costUsd: microsToUsd(request.amountMicros),
      details: request.details,
      ledger: { op: 'charge' },
    }
  },

  /** The gate let a call through and holds its cost: nothing charged yet. */
  reserved(request: AuthorizeRequest, holdId: string): AuditEvent {
    return {
      tool: request.tool,
      action: 'hold.open',
      scope: request.scope,
      outcome: 'ok',
      flagged: false,
      reason: null,
      costUsd: 0,
      details: request.details,
      // Ledger marks are written in key order: their canonical JSON is then never sorted.
      ledger: { amountUsd: microsToUsd(request.amountMicros), holdId, op: 'reserve' },
    }
  },

  /** A hold closed: the gate's details merged with the settle's. */
  settled(hold: { id: string; tool: string; scope: string | null; details: Record<string, unknown> }, request: SettleRequest): AuditEvent {
    return {
      tool: hold.tool,
      action: request.action,
      scope: hold.scope,
      outcome: request.outcome,
      flagged: request.flagged,
      reason: request.reason,
      costUsd: microsToUsd(request.amountMicros),
      details: mergeDetails(hold.details, request.details),
      ledger: { holdId: hold.id, op: 'settle' },
    }
  },

  /** An entry written through `logAction`: the cost is recorded, not charged. */
  logged(request: AppendAuditRequest): AuditEvent {
    return {
      tool: request.tool,
      action: request.action,
      scope: request.scope,
      outcome: request.outcome,
      flagged: request.flagged,
      reason: request.reason,
      costUsd: microsToUsd(request.costMicros),
      details: request.details,
    }
  },

  revoked(options: { sessionId: string; revokedBy: string; reason: string | null }): AuditEvent {
    return {
      tool: 'haldir',
      action: 'session.revoke',
      scope: null,
      outcome: 'ok',
      flagged: false,
      reason: options.reason ?? (options.sessionId === options.revokedBy ? 'revoked' : `ancestor ${options.revokedBy} revoked`),
      costUsd: 0,
      details: { revokedBy: options.revokedBy },
    }
  },

  /** A hold whose lease ended before it was settled: released, nothing charged, flagged for a reviewer. */
  holdExpired(hold: { id: string; tool: string; scope: string | null; amountMicros: number; expiresAt: number; details: Record<string, unknown> }): AuditEvent {
    return {
      tool: hold.tool,
      action: 'hold.expire',
      scope: hold.scope,
      outcome: 'error',
      flagged: true,
      reason: `hold lease ended at ${new Date(hold.expiresAt).toISOString()} before it was settled; $${microsToUsd(hold.amountMicros)} released, nothing charged`,
      costUsd: 0,
      details: mergeDetails(hold.details, { holdId: hold.id, releasedUsd: microsToUsd(hold.amountMicros) }),
      ledger: { holdId: hold.id, op: 'release' },
    }
  },

  /** A hold released by an operator (not by the call that opened it): nothing charged. */
  holdReleased(hold: { id: string; tool: string; scope: string | null; amountMicros: number; details: Record<string, unknown> }, reason: string | null): AuditEvent {
    return {
      tool: hold.tool,
      action: 'hold.release',
      scope: hold.scope,
      outcome: 'ok',
      flagged: true,
      reason: reason ?? 'released by an operator',
      costUsd: 0,
      details: mergeDetails(hold.details, { holdId: hold.id, releasedUsd: microsToUsd(hold.amountMicros) }),
      ledger: { holdId: hold.id, op: 'release' },
    }
  },

  /** A repeated idempotency key whose call already ran: refused, so it never runs twice. */
  replayRefused(request: AuthorizeRequest, reason: string): AuditEvent {
    return {
      tool: request.tool,
      action: request.action,
      scope: request.scope,
      outcome: 'denied',
      flagged: true,
      reason,
      costUsd: 0,
      details: { ...request.details, idempotencyKey: request.idempotencyKey },
    }
  },

  /** A call sent to a person: nothing runs yet, its cost is held (a reservation of the ledger) until the decision. */
  approvalRequested(request: AuthorizeRequest, approval: { id: string; holdId: string; reason: string; expiresAt: number }): AuditEvent {
    return {
      tool: request.tool,
      action: 'approval.request',
      scope: request.scope,
      outcome: 'ok',
      flagged: false,
      reason: approval.reason,
      costUsd: 0,
      details: mergeDetails(request.details, { approvalId: approval.id, requestedUsd: microsToUsd(request.amountMicros), expiresAt: new Date(approval.expiresAt).toISOString() }),
      ledger: { amountUsd: microsToUsd(request.amountMicros), holdId: approval.holdId, op: 'reserve' },
    }
  },

  /** Approved (by a person, or by the timeout when the rules say so): the hold stays, as an ordinary hold for the call. */
  approvalApproved(hold: HoldFacts, approval: { id: string; decidedBy: string | null; note: string | null }, reason: string | null): AuditEvent {
    return {
      tool: hold.tool,
      action: 'approval.approve',
      scope: hold.scope,
      outcome: 'ok',
      flagged: false,
      reason,
      costUsd: 0,
      details: { approvalId: approval.id, holdId: hold.id, decidedBy: approval.decidedBy, note: approval.note },
    }
  },

  /**
   * Not approved: denied by a person (`denied`), or nobody decided in time or the session ended
   * first (`error`). Its hold is released, nothing charged; flagged for a reviewer.
   */
  approvalClosed(hold: HoldFacts, approval: { id: string; decidedBy: string | null; note: string | null }, status: 'denied' | 'expired', reason: string): AuditEvent {
    return {
      tool: hold.tool,
      action: status === 'denied' ? 'approval.deny' : 'approval.expire',
      scope: hold.scope,
      outcome: status === 'denied' ? 'denied' : 'error',
      flagged: true,
      reason,
      costUsd: 0,
      details: { approvalId: approval.id, holdId: hold.id, decidedBy: approval.decidedBy, note: approval.note, releasedUsd: microsToUsd(hold.amountMicros) },
      ledger: { holdId: hold.id, op: 'release' },
    }
  },

  /** An approved payment (`charge` mode) charged when its caller goes on with it: the hold closes, charging all of it. */
  approvedCharge(hold: HoldFacts & { details: Record<string, unknown> }, request: AuthorizeRequest, approvalId: string): AuditEvent {
    return {
      tool: hold.tool,
      action: request.action,
      scope: hold.scope,
      outcome: 'ok',
      flagged: false,
      reason: null,
      costUsd: microsToUsd(hold.amountMicros),
      details: mergeDetails(hold.details, { approvalId }),
      ledger: { holdId: hold.id, op: 'settle' },
    }
  },

  /** A vault read: the name, never the value. */
  secretRead(options: { name: string; scope: string | null; outcome: 'ok' | 'denied' | 'error'; reason: string | null }): AuditEvent {
    return {
      tool: 'vault',
      action: 'secret.read',
      scope: options.scope,
      outcome: options.outcome,
      flagged: options.outcome !== 'ok',
      reason: options.reason,
      costUsd: 0,
      details: { name: options.name },
    }
  },
}

function mergeDetails(first: Record<string, unknown>, second: Record<string, unknown>): Record<string, unknown> {
  for (const _ in first) return { ...first, ...second }
  return second
}
