import { HaldirError, microsToUsd, NotFoundError, SessionExpiredError, SessionRevokedError } from '@haldir/core'
import { type ApprovalRecord, type ApprovalRuleInput, backendRequestSchemas, idSchema, parseInput } from '@haldir/core/backend'
import type { Context, Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { INVALID_SESSION, plainError } from '../haldir-api-error.ts'
import { usdAmount } from '../usd-amount.ts'

const KINDS = ['spend_over', 'tool_blocked', 'destructive', 'all'] as const
/** Upstream's `ttl` default (seconds); `≤ 0` (no expiry upstream) is the longest an approval may wait here: a week. */
const DEFAULT_TTL_S = 3600
const LONGEST_TTL_S = 7 * 24 * 3600

const seconds = (ms: number) => ms / 1000

/** An approval in upstream's shape (`HALDIR-API.md` §13.2), with what it leaves out added after (session, hold, times). */
function upstreamApproval(approval: ApprovalRecord) {
  return {
    request_id: approval.id,
    status: approval.status,
    agent_id: approval.agentId,
    tool: approval.tool,
    action: approval.action,
    amount: microsToUsd(approval.amountMicros),
    reason: approval.reason,
    decided_by: approval.decidedBy ?? '',
    decision_note: approval.note ?? '',
    session_id: approval.sessionId,
    hold_id: approval.holdId,
    created_at: seconds(approval.requestedAt),
    expires_at: seconds(approval.expiresAt),
  }
}

/**
 * Approvals (`HALDIR-API.md` §13), per tenant (upstream's are shared by every tenant: §18): rules
 * (persisted, listable, removable), requests (the amount is **held** from the request on, as for
 * every approval here), reading one, deciding (an `approver` or `admin` key; a decision is final
 * and atomic), and the pending list. A rule is checked by the gate on every governed call of the
 * tenant, not only on proxy calls.
 */
export function mountApprovalsRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { backend, auth, idempotency } = context

  app.post('/v1/approvals/rules', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'addApprovalRule')
    const body = (await context.readJson(c)) as Record<string, unknown>
    const type = body?.type
    if (typeof type !== 'string' || type === '') throw plainError(400, 'type is required (spend_over, tool_blocked, destructive, all)')
    // Upstream stores any type and ignores it; an unknown one here would be a rule that never asks.
    if (!(KINDS as readonly string[]).includes(type)) throw plainError(400, `unknown type '${type.slice(0, 40)}' (spend_over, tool_blocked, destructive, all)`)
    const common = { reason: null, timeoutMs: null, onTimeout: null }
    let rule: ApprovalRuleInput
    if (type === 'spend_over') rule = { kind: 'spend_over', thresholdMicros: body.threshold === undefined ? 0 : usdAmount(body.threshold, 'threshold'), ...common }
    else if (type === 'tool_blocked') {
      const tools = body.tools === undefined || body.tools === null ? [] : body.tools
      if (!Array.isArray(tools) || tools.some((tool) => typeof tool !== 'string' || tool === '')) throw plainError(400, 'tools must be a list of tool names')
      if (tools.length === 0) throw plainError(400, 'tool_blocked needs at least one tool in tools')
      rule = { kind: 'tool', tools: tools as string[], ...common }
    } else if (type === 'destructive') rule = { kind: 'destructive', verbs: null, ...common }
    else rule = { kind: 'all', ...common }
    const request = parseInput(backendRequestSchemas.addApprovalRule, { rule })
    const work = async () => {
      const stored = await backend.addApprovalRule({ ...request, tenant })
      return { status: 201, body: { added: true, type, rule_id: stored.id } }
    }
    return idempotency.respond(c, { tenant, route: '/v1/approvals/rules', body }, work)
  })

  app.get('/v1/approvals/rules', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listApprovalRules')
    const rules = await backend.listApprovalRules({ tenant })
    return c.json({
      rules: rules.map((rule) => ({
        rule_id: rule.id,
        type: rule.kind === 'tool' ? 'tool_blocked' : rule.kind,
        ...(rule.kind === 'spend_over' ? { threshold: microsToUsd(rule.thresholdMicros) } : {}),
        ...(rule.kind === 'tool' ? { tools: rule.tools } : {}),
        ...(rule.kind === 'scope' ? { scopes: rule.scopes } : {}),
      })),
      count: rules.length,
    })
  })

  app.delete('/v1/approvals/rules/:ruleId', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'removeApprovalRule')
    const ruleId = c.req.param('ruleId')
    if (!idSchema.safeParse(ruleId).success) throw plainError(404, 'Approval rule not found')
    try {
      await backend.removeApprovalRule({ tenant, ruleId })
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw plainError(404, 'Approval rule not found')
      throw error
    }
    return c.json({ removed: true, rule_id: ruleId })
  })

  app.post('/v1/approvals/request', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'requestApproval')
    const body = (await context.readJson(c)) as Record<string, unknown>
    const sessionId = body?.session_id
    if (typeof sessionId !== 'string' || sessionId === '') throw plainError(400, 'session_id is required')
    if (!idSchema.safeParse(sessionId).success) throw plainError(401, INVALID_SESSION)
    const amountMicros = body.amount === undefined || body.amount === null ? 0 : usdAmount(body.amount, 'amount')
    const ttl = body.ttl === undefined || body.ttl === null ? DEFAULT_TTL_S : Number(body.ttl)
    if (!Number.isFinite(ttl)) throw plainError(400, 'ttl must be a number of seconds')
    const timeoutS = ttl <= 0 ? LONGEST_TTL_S : Math.min(Math.max(1, Math.floor(ttl)), LONGEST_TTL_S)
    const text = (value: unknown) => (typeof value === 'string' ? value : '')
    const details = typeof body.details === 'object' && body.details !== null && !Array.isArray(body.details) ? (body.details as Record<string, unknown>) : {}
    const request = parseInput(backendRequestSchemas.authorize, {
      sessionId,
      mode: 'reserve',
      scope: null,
      tool: text(body.tool) || 'approval',
      action: text(body.action) || 'request',
      amountMicros,
      idempotencyKey: null,
      approval: { reason: text(body.reason) || 'approval requested', timeoutMs: timeoutS * 1000, onTimeout: 'deny' },
      details,
    })
    const work = async () => {
      let result: Awaited<ReturnType<typeof backend.authorize>>
      try {
        result = await backend.authorize({ ...request, tenant })
      } catch (error) {
        if (NotFoundError.isInstance(error) || SessionExpiredError.isInstance(error) || SessionRevokedError.isInstance(error)) throw plainError(401, INVALID_SESSION)
        throw error
      }
      if (!result.allowed && result.code === 'approval_pending') {
        return { status: 201, body: { request_id: result.approval.id, status: 'pending', expires_at: seconds(result.approval.expiresAt), hold_id: result.approval.holdId } }
      }
      if (!result.allowed && (result.code === 'session_expired' || result.code === 'session_revoked')) throw plainError(401, INVALID_SESSION)
      // The amount is held while a person decides: a session that cannot hold it is refused now.
      return { status: 403, body: { error: result.allowed ? 'approval request was not created' : result.reason } }
    }
    return idempotency.respond(c, { tenant, route: '/v1/approvals/request', body }, work)
  })

  // Before `/:id`, so `pending` is not read as an id.
  app.get('/v1/approvals/pending', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'listPendingApprovals')
    const agentId = c.req.query('agent_id')
    const pending = (await backend.listApprovals({ tenant, status: 'pending', sessionId: null, limit: 10_000 })).filter((approval) => !agentId || approval.agentId === agentId)
    return c.json({
      count: pending.length,
      requests: pending.map((approval) => ({
        request_id: approval.id,
        agent_id: approval.agentId,
        tool: approval.tool,
        action: approval.action,
        amount: microsToUsd(approval.amountMicros),
        reason: approval.reason,
        created_at: seconds(approval.requestedAt),
      })),
    })
  })

  app.get('/v1/approvals/:id', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'getApproval')
    const approvalId = c.req.param('id')
    if (!idSchema.safeParse(approvalId).success) throw plainError(404, 'Approval request not found')
    try {
      return c.json(upstreamApproval(await backend.getApproval({ tenant, approvalId })))
    } catch (error) {
      if (NotFoundError.isInstance(error)) throw plainError(404, 'Approval request not found')
      throw error
    }
  })

  for (const decision of ['approve', 'deny'] as const) {
    app.post(`/v1/approvals/:id/${decision}`, auth.guard, async (c: Context<ServerEnv>) => {
      const identity = c.get('identity')
      const { tenant } = identity
      requireAccess(identity, decision === 'approve' ? 'approveRequest' : 'denyRequest')
      const approvalId = c.req.param('id') as string
      const body = ((await context.readJson(c)) ?? {}) as Record<string, unknown>
      const cannot = plainError(400, `Cannot ${decision} — not found, already decided, or expired`)
      if (!idSchema.safeParse(approvalId).success) throw cannot
      // A decision names who made it: the approver's own words, else the key that decided.
      const decidedBy = typeof body.decided_by === 'string' && body.decided_by.trim() !== '' ? body.decided_by.trim() : `key:${identity.keyId.slice(0, 12)}`
      const note = typeof body.note === 'string' && body.note !== '' ? body.note : null
      const request = parseInput(backendRequestSchemas.decideApproval, { approvalId, decision, decidedBy, note })
      try {
        await backend.decideApproval({ ...request, tenant })
      } catch (error) {
        if (HaldirError.isInstance(error) && (error.code === 'not_found' || error.code === 'approval_decided' || error.code === 'session_revoked' || error.code === 'session_expired')) throw cannot
        throw error
      }
      return c.json(decision === 'approve' ? { approved: true, request_id: approvalId } : { denied: true, request_id: approvalId })
    })
  }
}
