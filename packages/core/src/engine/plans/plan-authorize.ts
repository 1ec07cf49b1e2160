import { auditEvents } from '../../audit/audit-events.ts'
import type { AuthorizeRequest, AuthorizeResult } from '../../backend/haldir-backend.ts'
import { IdempotencyError } from '../../errors/idempotency-error.ts'
import { decideAuthorization } from '../../policy/decide-authorization.ts'
import type { Draft } from '../draft.ts'
import type { HoldRecord, IdempotencyRecord, LoadedState, SessionState } from '../state-store.ts'
import { approvalDemand } from '../../policy/approval-demand.ts'
import { requestApproval } from './approval-steps.ts'
import { holdExpiry } from './hold-expiry.ts'
import { openRequestHold } from './open-request-hold.ts'
import { planGoOnApproval } from './plan-go-on-approval.ts'
import { afterReleases, releaseExpiredHolds } from './release-expired-holds.ts'
import { requestFingerprint } from './request-fingerprint.ts'
import { UsageBook } from '../usage-book.ts'
import { requireSession } from './require-session.ts'
import { grantSlice, recallSlices, type ResolvedSlices, SLICE_NEVER, SLICE_SHORT, SliceRecall, sliceEligible, sliceOf, sliceSize, sliceView, syncSlice } from '../slices.ts'

/**
 * The gate, over the locked chain (the session and its ancestors). A call the approval rules
 * (the session's, its ancestors', the tenant's, the caller's own) send to a person is held and
 * answered pending; a call going on with its approval (`approvalId`) is let through once approved. Holds under the chain's root
 * whose lease ended are released first (audited, flagged). A repeated idempotency key answers as
 * the first time, after re-checking liveness, and never lets a call whose hold is closed run
 * again. Otherwise liveness, scope and budget decide: a refusal is audited, flagged; `reserve`
 * holds the amount on every level of the chain until the hold is settled or its lease ends,
 * `charge` charges it and audits the payment, `check` changes nothing.
 */
export function planAuthorize(state: LoadedState, request: AuthorizeRequest, draft: Draft<AuthorizeResult>, slices: ResolvedSlices | null = null, recalled = false): AuthorizeResult {
  const session = requireSession(state.sessions, request.sessionId)
  const approvalHold = approvalHoldOf(state)
  // The session's slice goes back to its ancestors first: over the locked chain a call is decided
  // on exact counters (and, allowed, gets a fresh slice).
  const chain = syncSlice(afterReleases(state.sessions, releaseExpiredHolds(state.expiredHolds, draft, approvalHold)), draft)
  if (state.idempotency) return replay(state.idempotency, state.idempotencyHold, request, chain, draft)
  let result: AuthorizeResult
  if (request.approvalId !== null) {
    result = planGoOnApproval(state.hold, request.approvalId, request, chain, draft)
    if (draft.error) return result
    if (request.idempotencyKey !== null) remember(request, result, draft)
    return result
  }
  const decision = decideAuthorization({ chain, mode: request.mode, scope: request.scope, amountMicros: request.amountMicros, now: draft.now, tool: request.tool })
  // Rules are asked only of calls that would go through: a refusal needs no approver.
  const demand =
    decision.allowed && request.mode !== 'check'
      ? approvalDemand({ chain, tenantRules: draft.rules, demand: request.approval, call: { tool: request.tool, scope: request.scope, amountMicros: request.amountMicros } })
      : null
  if (!decision.allowed) {
    // Slices of descendants hold part of the refusing budget: recalled first, so a refusal is never owed to one.
    if (!recalled && decision.code === 'budget_exceeded') {
      const limiting = chain.find((link) => link.record.id === decision.facts.limitingSessionId)
      if (limiting && sliceOf(limiting).heldMicros > 0) throw new SliceRecall((chain[chain.length - 1] as SessionState).record.id)
    }
    const entry = draft.append(session, auditEvents.denied(request, decision))
    draft.emit('call.denied', session, { code: decision.code, reason: decision.reason, tool: request.tool, scope: request.scope, requestedUsd: entry.details.requestedUsd })
    // A limit that refused: its alert (exhausted, rate-limited), once per window, on the session whose limit it is.
    const limiting = chain.find((link) => link.record.id === decision.facts.limitingSessionId)
    if (limiting && (decision.code === 'budget_exceeded' || decision.code === 'rate_limited' || decision.code === 'call_cap_reached')) {
      ;(draft.book ??= new UsageBook(draft)).refused(limiting, decision.code, decision.facts)
    }
    result = { allowed: false, code: decision.code, reason: decision.reason, facts: decision.facts, entry }
  } else if (demand !== null) {
    draft.countCall(chain, request.tool, request.scope)
    result = requestApproval(request, chain, demand, draft)
  } else if (request.mode !== 'check' && slices !== null && sliceEligible(chain)) {
    // Allowed over the locked chain: the call and the next few like it get a slice.
    result = drawFromSlice(request, grantSlice(chain, draft, request.amountMicros + sliceSize(chain, request.amountMicros, slices)), draft)
  } else if (request.mode === 'reserve') {
    draft.countCall(chain, request.tool, request.scope)
    const holdId = draft.newId('hold')
    openRequestHold(request, chain, draft, { id: holdId, expiresAt: holdExpiry(chain, draft.now, request.holdTtlMs), approval: null })
    // The reservation is an entry of its own: the trail re-derives what is held, not only what is charged.
    draft.append(session, auditEvents.reserved(request, holdId))
    result = { allowed: true, holdId, entry: null }
    // The governed call's hot path: the answer is a hold id, so the seal may come after it.
    draft.sealLater = true
  } else if (request.mode === 'charge') {
    draft.countCall(chain, request.tool, request.scope)
    draft.move(chain, request.amountMicros, 0, request.tool)
    result = { allowed: true, holdId: null, entry: draft.append(session, auditEvents.charged(request)) }
  } else {
    result = { allowed: true, holdId: null, entry: null }
  }
  if (request.idempotencyKey !== null) remember(request, result, draft)
  return result
}

/**
 * The gate with only the session's row locked (`lock: 'session'`): a call its slice covers is
 * decided and drawn from the slice, touching no ancestor's row. Anything else (a refusal, a call
 * for a person, a `check`, a slice too small, an ancestor counting calls) is a `SliceMiss`: nothing
 * is applied and the engine decides it over the locked chain. A root session's row is its whole
 * chain, so its calls are decided here as usual, except refusals (expired holds are not loaded).
 */
export function planAuthorizeInSlice(state: LoadedState, request: AuthorizeRequest, draft: Draft<AuthorizeResult>): AuthorizeResult {
  const chain = state.sessions
  const session = requireSession(chain, request.sessionId)
  if (chain.length === 1) {
    const result = planAuthorize(state, request, draft)
    if (!result.allowed || draft.error !== undefined) throw SLICE_SHORT
    return result
  }
  if (!sliceEligible(chain)) throw SLICE_NEVER
  if (request.mode === 'check' || sliceOf(session).freeMicros < request.amountMicros) throw SLICE_SHORT
  const decision = decideAuthorization({ chain: sliceView(chain), mode: request.mode, scope: request.scope, amountMicros: request.amountMicros, now: draft.now, tool: request.tool })
  if (!decision.allowed) throw SLICE_SHORT
  if (approvalDemand({ chain, tenantRules: draft.rules, demand: request.approval, call: { tool: request.tool, scope: request.scope, amountMicros: request.amountMicros } }) !== null) throw SLICE_SHORT
  return drawFromSlice(request, chain, draft)
}

/**
 * The gate after every slice under the chain's root was recalled (`state.sessions`: the root's
 * tree, locked): decided on exact counters, a refusal now is the refusal without slices.
 */
export function planAuthorizeRecalled(state: LoadedState, request: AuthorizeRequest, draft: Draft<AuthorizeResult>, slices: ResolvedSlices | null): AuthorizeResult {
  // Lapsed holds first: a sliced one gives its money back to its session's slice, which the recall then returns.
  const after = recallSlices(afterReleases(state.sessions, releaseExpiredHolds(state.expiredHolds, draft, approvalHoldOf(state))), draft)
  const own = after.get(request.sessionId)
  const chain = own ? [own, ...own.ancestors.map((id) => after.get(id))] : []
  const whole = chain.every((link) => link !== undefined) ? (chain as SessionState[]) : []
  return planAuthorize({ ...state, sessions: whole, expiredHolds: [] }, request, draft, slices, true)
}

/** An approval's own hold is judged where the call goes on with it, not twice: the lapsed-hold release leaves it alone. */
function approvalHoldOf(state: LoadedState): string | null {
  return state.hold?.approval ? state.hold.id : state.idempotencyHold?.approval ? state.idempotencyHold.id : null
}

/** A call allowed on the session's slice: reserved (a sliced hold) or charged from it, on the session's row alone. */
function drawFromSlice(request: AuthorizeRequest, chain: SessionState[], draft: Draft<AuthorizeResult>): AuthorizeResult {
  const own = chain[0] as SessionState
  draft.countCall([own], request.tool, request.scope)
  if (request.mode === 'reserve') {
    const holdId = draft.newId('hold')
    openRequestHold(request, chain, draft, { id: holdId, expiresAt: holdExpiry(chain, draft.now, request.holdTtlMs), approval: null, sliced: true })
    draft.append(own, auditEvents.reserved(request, holdId))
    draft.sealLater = true
    return { allowed: true, holdId, entry: null }
  }
  draft.move([own], request.amountMicros, 0, request.tool)
  draft.moveSlice(own, -request.amountMicros, request.amountMicros, 0, request.tool)
  return { allowed: true, holdId: null, entry: draft.append(own, auditEvents.charged(request)) }
}

function remember(request: AuthorizeRequest, result: AuthorizeResult, draft: Draft<AuthorizeResult>): void {
  draft.remember({ tenant: request.tenant, key: request.idempotencyKey as string, sessionId: request.sessionId, fingerprint: requestFingerprint(request), result, createdAt: draft.now })
}

/**
 * A key seen before. Another request under it is a conflict (nothing changes). The same request
 * re-checks liveness (a replay after a revocation or expiry is refused and audited), then gets the
 * first answer; but a gate whose hold is already closed is refused (audited), so one key is one
 * execution.
 */
function replay(remembered: IdempotencyRecord, hold: HoldRecord | null, request: AuthorizeRequest, chain: SessionState[], draft: Draft<AuthorizeResult>): AuthorizeResult {
  const key = request.idempotencyKey as string
  if (remembered.fingerprint !== requestFingerprint(request)) {
    throw new IdempotencyError({ code: 'idempotency_conflict', idempotencyKey: key, data: { firstSessionId: remembered.sessionId } })
  }
  const session = chain[0] as SessionState
  const live = decideAuthorization({ chain, mode: 'check', scope: null, amountMicros: 0, now: draft.now })
  if (!live.allowed) {
    const entry = draft.append(session, auditEvents.denied(request, live))
    return { allowed: false, code: live.code, reason: live.reason, facts: live.facts, entry }
  }
  const first = remembered.result
  // The first time it was sent to a person: the same call now goes on with that approval.
  if (!first.allowed && first.code === 'approval_pending') return planGoOnApproval(hold, first.approval.id, request, chain, draft)
  if (first.allowed && first.holdId !== null && (hold === null || hold.closed !== null || hold.expiresAt <= draft.now)) {
    const reason = `idempotency key '${key}' belongs to a call that already ran (hold ${first.holdId} is closed); not run again`
    draft.append(session, auditEvents.replayRefused(request, reason))
    return draft.refuse(new IdempotencyError({ code: 'idempotency_replayed', idempotencyKey: key, data: { holdId: first.holdId } }))
  }
  return first
}
