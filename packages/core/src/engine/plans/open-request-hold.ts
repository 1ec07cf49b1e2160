import type { AuthorizeRequest } from '../../backend/haldir-backend.ts'
import type { Draft } from '../draft.ts'
import type { ApprovalState, HoldRecord, SessionState } from '../state-store.ts'

/**
 * Opens the hold a gate's request asks for (an ordinary reservation, or one waiting for a
 * person with its `approval`) and reserves its amount on every level of the chain (or, `sliced`,
 * on the session alone, from its slice). The one
 * place a request becomes a hold record, so the two kinds cannot drift apart.
 */
export function openRequestHold<Approval extends ApprovalState | null>(
  request: AuthorizeRequest,
  chain: readonly SessionState[],
  draft: Draft<unknown>,
  hold: { id: string; expiresAt: number; approval: Approval; sliced?: boolean },
): HoldRecord & { approval: Approval } {
  const sliced = hold.sliced === true
  const record: HoldRecord & { approval: Approval } = {
    id: hold.id,
    tenant: request.tenant,
    sessionId: request.sessionId,
    rootId: (chain[chain.length - 1] as SessionState).record.id,
    amountMicros: request.amountMicros,
    tool: request.tool,
    scope: request.scope,
    details: request.details,
    createdAt: draft.now,
    expiresAt: hold.expiresAt,
    idempotencyKey: request.idempotencyKey,
    closed: null,
    approval: hold.approval,
    sliced,
  }
  draft.openHold(record)
  if (sliced) {
    // Drawn from the session's slice: its ancestors reserved this money when the slice was granted.
    const own = chain[0] as SessionState
    draft.move([own], 0, request.amountMicros, null)
    draft.moveSlice(own, -request.amountMicros, 0, 0, null)
  } else {
    draft.move(chain, 0, request.amountMicros, null)
  }
  return record
}
