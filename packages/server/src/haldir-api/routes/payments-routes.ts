import { IdempotencyError, microsToUsd, NotFoundError, usdToMicros } from '@haldir/core'
import { backendRequestSchemas, parseInput } from '@haldir/core/backend'
import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { HaldirApiError, INVALID_SESSION, paymentRefusal, plainError } from '../haldir-api-error.ts'
import { idempotencyKeyOf } from '../idempotency-store.ts'
import { epochSeconds } from '../to-upstream-entry.ts'
import { usdAmount } from '../usd-amount.ts'
import { validateBody } from '../validate-body.ts'

const ROUTE = '/v1/payments/authorize'

/** The `authorization_id` of a payment: its audit entry's id under upstream's prefix (`aud_X` → `auth_X`). */
export function authorizationId(entryId: string): string {
  return `auth_${entryId.replace(/^aud_/, '')}`
}

/**
 * `POST /v1/payments/authorize` (`HALDIR-API.md` §8): the engine's atomic charge, never upstream's
 * read-check-write. The session needs the `spend` scope (or `admin`) and the amount must fit its
 * limit with everything already spent and held; a refusal is 403 `{ authorized: false, reason }`,
 * and a missing scope says so (upstream words it as a budget refusal). Money is exact: the
 * amount is converted to micro-dollars at the edge (at most 6 decimals). `Idempotency-Key` is
 * the engine's own key (atomic, per tenant, across processes: one charge, and a replay re-checks
 * that the session is still valid); the server also keeps the body's fingerprint, so another
 * body under the same key is upstream's 422.
 */
export function mountPaymentsRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { backend, auth, idempotency } = context

  app.post(ROUTE, auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'authorizePayment')
    const body = validateBody(await context.readJson(c), {
      session_id: { type: 'str', required: true, maxLength: 128 },
      amount: { type: 'float', required: true, min: 0.01, max: 1_000_000 },
      currency: { type: 'str', default: 'USD', maxLength: 8 },
      description: { type: 'str', default: '', maxLength: 500 },
    })
    const amountMicros = usdAmount(body.amount, 'amount')
    const key = idempotencyKeyOf(c.req.header('idempotency-key'))
    const sessionId = body.session_id as string
    const request = parseInput(backendRequestSchemas.authorize, {
      sessionId,
      mode: 'charge',
      scope: 'spend',
      tool: 'payment',
      action: 'payment',
      amountMicros,
      // The engine's keys are per tenant across every route: this route's live in their own space.
      idempotencyKey: key === null ? null : `haldir-api:${ROUTE}:${key}`,
      details: { currency: body.currency, description: body.description },
    })
    const work = async () => {
      let result: Awaited<ReturnType<typeof backend.authorize>>
      try {
        result = await backend.authorize({ ...request, tenant })
      } catch (error) {
        if (NotFoundError.isInstance(error)) throw plainError(401, INVALID_SESSION)
        if (IdempotencyError.isInstance(error)) throw conflict(key as string)
        throw error
      }
      if (!result.allowed && result.code === 'approval_pending') {
        // Upstream has no such answer: a refusal its clients read, and what to do next for ours.
        const { approval } = result
        return { status: 403, body: { ...paymentRefusal(`Approval required: ${approval.reason} (approval ${approval.id}; $${microsToUsd(approval.amountMicros)} is held until it is decided)`).body, status: 'approval_required', approval_id: approval.id } }
      }
      if (!result.allowed) {
        if (result.code === 'session_expired' || result.code === 'session_revoked') throw plainError(401, INVALID_SESSION)
        if (result.code === 'permission_denied') return { status: 403, body: paymentRefusal("Session lacks the 'spend' scope").body }
        const { limitUsd, spentUsd, reservedUsd } = result.facts as { limitUsd: number; spentUsd: number; reservedUsd: number }
        // The limiting session's room (it may be an ancestor, for sessions made on the native API), in micro-dollars.
        const remaining = Math.max(0, usdToMicros(limitUsd) - usdToMicros(spentUsd) - usdToMicros(reservedUsd))
        return { status: 403, body: paymentRefusal(`Insufficient budget. Remaining: $${microsToUsd(remaining).toFixed(2)}, requested: $${microsToUsd(amountMicros).toFixed(2)}`).body }
      }
      const entry = result.entry
      if (!entry) throw new Error('a charge without its entry')
      const [record, spend] = await Promise.all([backend.getSession({ tenant, sessionId }), backend.getSpend({ tenant, sessionId })])
      const remaining = record.limitMicros === null ? 0 : Math.max(0, record.limitMicros - spend.spentMicros - spend.reservedMicros)
      return {
        status: 200,
        body: {
          authorized: true,
          authorization_id: authorizationId(entry.id),
          session_id: sessionId,
          agent_id: entry.agentId,
          amount: microsToUsd(amountMicros),
          currency: body.currency,
          description: body.description,
          remaining_budget: microsToUsd(remaining),
          timestamp: epochSeconds(entry.timestamp),
        },
      }
    }
    // The fingerprint and in-flight claim are the server's; the one charge is the engine's.
    return idempotency.respond(c, { tenant, route: ROUTE, body, replay: 'rerun' }, work)
  })
}

function conflict(key: string): HaldirApiError {
  return plainError(422, `Idempotency-Key '${key}' was previously used with a different request body on '${ROUTE}'. Use a fresh key or send the identical body.`)
}
