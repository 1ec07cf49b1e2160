import { microsToUsd, NotFoundError } from '@haldir/core'
import { backendRequestSchemas, idSchema, MAX_TTL_MS, parseInput, type SessionRecord } from '@haldir/core/backend'
import type { Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { plainError } from '../haldir-api-error.ts'
import { liveSession } from '../live-session.ts'
import { reportedScopes, translateSessionScopes } from '../session-scopes.ts'
import { usdAmount } from '../usd-amount.ts'
import { validateBody } from '../validate-body.ts'

/** What the Haldir API keeps of the request in the session's metadata, to answer as upstream does. */
interface HaldirApiMetadata {
  /** The scopes as upstream reports them. */
  scopes: string[]
  /** The ttl asked for (0: never expires). */
  ttl: number
}

/** The upstream view of a session: scopes as reported, limit as a number (0 when there is none), times in epoch seconds. */
export function upstreamSession(record: SessionRecord) {
  const kept = record.metadata.haldirApi as HaldirApiMetadata | undefined
  return {
    session_id: record.id,
    agent_id: record.agentId,
    scopes: kept?.scopes ?? reportedScopes(record.scopes),
    spend_limit: microsToUsd(record.limitMicros ?? 0),
    expires_at: kept?.ttl === 0 ? 0 : record.expiresAt / 1000,
  }
}

/**
 * Sessions (`HALDIR-API.md` §5): create (with `spend:N` scopes and upstream's defaults), read
 * (spent and remaining from the engine's counters), revoke, check a scope. Money is exact: USD
 * numbers at the edge, micro-dollars inside.
 */
export function mountSessionsRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { backend, auth, idempotency } = context

  app.post('/v1/sessions', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'createSession')
    const body = validateBody(await context.readJson(c), {
      agent_id: { type: 'str', required: true, maxLength: 128 },
      scopes: { type: 'list' },
      ttl: { type: 'int', default: 3600, min: 0, max: 2_592_000 },
      spend_limit: { type: 'float', min: 0 },
    })
    const scopes = translateSessionScopes(body.scopes)
    // An explicit spend_limit wins over spend:N; 0 is a budget of nothing (upstream: unlimited).
    const limitMicros = body.spend_limit !== undefined ? usdAmount(body.spend_limit, 'spend_limit') : (scopes.spendLimitMicros ?? null)
    const ttl = body.ttl as number
    const metadata: HaldirApiMetadata = { scopes: scopes.reported, ttl }
    const request = parseInput(backendRequestSchemas.createSession, {
      agentId: body.agent_id,
      scopes: scopes.granted,
      limitMicros,
      // ttl 0 never expires upstream; here a session lives at most ten years.
      ttlMs: ttl === 0 ? MAX_TTL_MS : ttl * 1000,
      parentId: null,
      metadata: { haldirApi: metadata },
    })
    const work = async () => {
      const record = await backend.createSession({ ...request, tenant })
      return { status: 201, body: { ...upstreamSession(record), ttl } }
    }
    return idempotency.respond(c, { tenant, route: '/v1/sessions', body }, work)
  })

  app.get('/v1/sessions/:id', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'getSession')
    const record = await liveSession(backend, tenant, c.req.param('id'))
    if (!record) throw plainError(404, 'Session not found or expired')
    const spend = await backend.getSpend({ tenant, sessionId: record.id })
    const remaining = record.limitMicros === null ? 0 : Math.max(0, record.limitMicros - spend.spentMicros - spend.reservedMicros)
    return c.json({
      ...upstreamSession(record),
      spent: microsToUsd(spend.spentMicros),
      remaining_budget: microsToUsd(remaining),
      is_valid: true,
      created_at: record.createdAt / 1000,
      // Ours: what is held by open reservations, and whether there is a limit at all (upstream reads 0 for both "none" and "no limit").
      reserved: microsToUsd(spend.reservedMicros),
      unlimited: record.limitMicros === null,
    })
  })

  app.delete('/v1/sessions/:id', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'revokeSession')
    const sessionId = c.req.param('id')
    if (!idSchema.safeParse(sessionId).success) throw plainError(404, 'Session not found')
    try {
      await backend.revokeSession({ tenant, sessionId, reason: 'revoked through the Haldir API' })
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw plainError(404, 'Session not found')
      throw error
    }
    return c.json({ revoked: true, session_id: sessionId })
  })

  app.post('/v1/sessions/:id/check', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'checkPermission')
    const body = (await context.readJson(c)) as { scope?: unknown }
    const scope = body?.scope
    if (typeof scope !== 'string' || scope === '') throw plainError(400, 'scope is required')
    const sessionId = c.req.param('id')
    // An id no session can have is a plain "no", like an unknown one.
    if (!idSchema.safeParse(sessionId).success) return c.json({ allowed: false, session_id: sessionId, scope })
    const request = parseInput(backendRequestSchemas.authorize, {
      sessionId,
      mode: 'check',
      scope,
      tool: 'haldir',
      action: 'check_permission',
      amountMicros: 0,
      idempotencyKey: null,
      details: {},
    })
    let allowed: boolean
    try {
      allowed = (await backend.authorize({ ...request, tenant })).allowed
    } catch (error) {
      // An unknown session is a plain "no", as upstream answers.
      if (!NotFoundError.isInstance(error)) throw error
      allowed = false
    }
    return c.json({ allowed, session_id: sessionId, scope })
  })
}

