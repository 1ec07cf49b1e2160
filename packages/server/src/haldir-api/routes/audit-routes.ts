import { type AuditEntry, NotFoundError } from '@haldir/core'
import { backendRequestSchemas, idSchema, microsToUsd, parseInput, usdToMicros } from '@haldir/core/backend'
import type { Context, Hono } from 'hono'
import type { ServerEnv } from '../../server-env.ts'
import { streamLines } from '../../stream-lines.ts'
import { type AuditFilter, entriesNewestFirst, entriesOldestFirst } from '../audit-reader.ts'
import { type ExportFilters, exportManifest, isoSeconds, upstreamExportLines } from '../audit-export.ts'
import { requireAccess } from '../haldir-api-auth.ts'
import type { HaldirApiContext } from '../haldir-api-context.ts'
import { codedError, INVALID_SESSION, plainError } from '../haldir-api-error.ts'
import { liveSession } from '../live-session.ts'
import { toUpstreamEntry } from '../to-upstream-entry.ts'

const MAX_LIMIT = 10_000

/**
 * The audit log (`HALDIR-API.md` §7): log an action (recorded on the session's HMAC chain;
 * its cost is recorded, not charged, as upstream), query the trail (newest first), spend,
 * verify (the whole ledger: every leaf, chain and balance), and export (streamed). Chains are
 * per session here; `prev_hash` of a session's first entry is `''`.
 */
export function mountAuditRoutes(app: Hono<ServerEnv>, context: HaldirApiContext): void {
  const { backend, auth, idempotency } = context

  app.post('/v1/audit', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'logAction')
    const body = (await context.readJson(c)) as Record<string, unknown>
    const sessionId = body?.session_id
    const action = body?.action
    if (typeof sessionId !== 'string' || sessionId === '' || typeof action !== 'string' || action === '') throw plainError(400, 'session_id and action are required')
    const cost = body.cost_usd ?? 0
    if (typeof cost !== 'number' || !Number.isFinite(cost)) throw plainError(400, 'cost_usd must be a number')
    if (cost < 0) throw plainError(400, 'cost_usd must be non-negative')
    // Upstream takes any value and keeps a falsy one as {}; here details are an object (or nothing).
    const details = body.details === undefined || body.details === null || body.details === false || body.details === 0 || body.details === '' ? {} : body.details
    if (typeof details !== 'object' || Array.isArray(details)) throw plainError(400, 'details must be a JSON object')
    const request = parseInput(backendRequestSchemas.appendAudit, {
      sessionId,
      tool: body.tool === undefined || body.tool === null ? '' : body.tool,
      action,
      scope: null,
      outcome: 'ok',
      flagged: false,
      reason: null,
      costMicros: usdToMicros(cost, 'cost_usd'),
      details,
    })
    const work = async () => {
      if (!(await liveSession(backend, tenant, sessionId))) throw plainError(401, INVALID_SESSION)
      const entry = await backend.appendAudit({ ...request, tenant })
      return { status: 201, body: { logged: true, entry_id: entry.id, flagged: entry.flagged, flag_reason: entry.flagged ? (entry.reason ?? '') : '' } }
    }
    return idempotency.respond(c, { tenant, route: '/v1/audit', body }, work)
  })

  app.get('/v1/audit', auth.guard, async (c) => {
    const filter = auditFilter(c)
    requireAccess(c.get('identity'), 'queryAudit', filter)
    const limit = integerParam(c.req.query('limit'), 'limit', 100)
    if (limit < 0 || limit > MAX_LIMIT) throw codedError(400, 'invalid_argument', `limit must be between 0 and ${MAX_LIMIT}`)
    const tool = c.req.query('tool')
    const entries = (await sessionKnown(context, filter)) ? await entriesNewestFirst(backend, filter, limit, (entry) => tool === undefined || entry.tool === tool) : []
    return c.json({ count: entries.length, entries: entries.map(toUpstreamEntry) })
  })

  app.get('/v1/audit/spend', auth.guard, async (c) => {
    const filter = auditFilter(c)
    requireAccess(c.get('identity'), 'getSpend', filter)
    let totalMicros = 0
    let actions = 0
    const byTool = new Map<string, number>()
    for await (const entry of matching(context, filter)) {
      actions++
      // A payment is the money side of an action the client logs itself (the recipe: check,
      // authorize, log): counting both would count it twice. Every other entry's cost counts.
      if (entry.ledger?.op === 'charge') continue
      const micros = usdToMicros(entry.costUsd, 'costUsd')
      totalMicros += micros
      if (entry.tool !== '') byTool.set(entry.tool, (byTool.get(entry.tool) ?? 0) + micros)
    }
    // Tools that cost something: the trail here also records free lifecycle entries (session.create, refusals, secret reads).
    const costly = [...byTool].filter(([, micros]) => micros > 0)
    return c.json({ total_usd: microsToUsd(totalMicros), action_count: actions, by_tool: Object.fromEntries(costly.map(([tool, micros]) => [tool, microsToUsd(micros)])) })
  })

  app.get('/v1/audit/verify', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    requireAccess(c.get('identity'), 'verifyAudit')
    const result = await backend.verifyLedger({ tenant, earlierHead: null })
    if (result.ok) {
      return c.json({ verified: true, entries_checked: result.treeSize, message: result.treeSize === 0 ? 'Empty audit log' : 'Audit chain integrity verified', root_hash: result.rootHash })
    }
    const first = result.problems[0]
    const where: Record<string, string> = {}
    const altered = result.problems.find((problem) => problem.kind === 'leaf_mismatch' && problem.leafIndex !== undefined)
    if (altered?.leafIndex !== undefined) {
      const page = await backend.ledgerPage({ tenant, from: altered.leafIndex, limit: 1 })
      where.tampered_entry = page.entries[0]?.entry.id ?? `leaf:${altered.leafIndex}`
    }
    const gone = result.problems.find((problem) => problem.kind === 'missing_entry' && problem.leafIndex !== undefined)
    if (gone?.leafIndex !== undefined) where.broken_at = `leaf:${gone.leafIndex}`
    return c.json({ verified: false, entries_checked: result.treeSize, ...where, error: first?.message ?? 'the ledger does not verify', problems: result.problems })
  })

  app.get('/v1/audit/export', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    const filter = auditFilter(c)
    requireAccess(c.get('identity'), 'exportAudit', filter)
    const format = c.req.query('format') ?? 'jsonl'
    if (format !== 'jsonl' && format !== 'csv') throw codedError(400, 'invalid_format', "format must be 'csv' or 'jsonl'", { got: format })
    const { filters, accept } = exportFilters(c)
    const lines = upstreamExportLines(selected(matching(context, filter), accept), { format, tenant, filters })
    const body = await streamLines(lines)
    const stamp = isoSeconds(new Date()).replace(/[-:]/g, '')
    return c.body(body, 200, {
      'Content-Type': format === 'jsonl' ? 'application/x-ndjson; charset=utf-8' : 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="haldir-audit-${tenant.replace(/[^A-Za-z0-9._-]/g, '_')}-${stamp}.${format}"`,
      'X-Accel-Buffering': 'no',
      'X-Haldir-Export-Manifest': format === 'jsonl' ? 'embedded-final-line' : 'out-of-band',
      'X-Haldir-Export-Format-Version': '1',
    })
  })

  app.get('/v1/audit/export/manifest', auth.guard, async (c) => {
    const { tenant } = c.get('identity')
    const filter = auditFilter(c)
    requireAccess(c.get('identity'), 'exportAudit', filter)
    const { filters, accept } = exportFilters(c)
    return c.json(await exportManifest(selected(matching(context, filter), accept), tenant, filters))
  })
}

/** The engine's filters from upstream's query: `session_id`, `agent_id`, `flagged=true` (only that exact string filters). */
function auditFilter(c: Context<ServerEnv>): AuditFilter {
  const id = (name: string) => {
    const value = c.req.query(name)
    if (value === undefined || value === '') return null
    if (!idSchema.safeParse(value).success) throw codedError(400, 'invalid_argument', `${name} is not a valid id`)
    return value
  }
  return { tenant: c.get('identity').tenant, sessionId: id('session_id'), agentId: id('agent_id'), flagged: c.req.query('flagged') === 'true' ? true : null }
}

/** The export's own filters (tool, since, until) and their manifest form. An unreadable time is a 400 (upstream ignores it, which exports more than asked). */
function exportFilters(c: Context<ServerEnv>): { filters: ExportFilters; accept: (entry: AuditEntry) => boolean } {
  const time = (name: 'since' | 'until') => {
    const text = c.req.query(name)
    if (text === undefined || text === '') return undefined
    const seconds = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Date.parse(text) / 1000
    if (!Number.isFinite(seconds)) throw codedError(400, 'invalid_argument', `${name} must be Unix seconds or an ISO 8601 time`, { got: text.slice(0, 60) })
    return seconds
  }
  const since = time('since')
  const until = time('until')
  const tool = c.req.query('tool')
  const filters: ExportFilters = {}
  for (const name of ['session_id', 'agent_id'] as const) {
    const value = c.req.query(name)
    if (value) filters[name] = value
  }
  if (tool !== undefined) filters.tool = tool
  if (since !== undefined) filters.since = since
  if (until !== undefined) filters.until = until
  if (c.req.query('flagged') === 'true') filters.flagged_only = true
  return {
    filters,
    accept: (entry) => {
      const seconds = Date.parse(entry.timestamp) / 1000
      return (tool === undefined || entry.tool === tool) && (since === undefined || seconds >= since) && (until === undefined || seconds < until)
    },
  }
}

async function* selected(entries: AsyncIterable<AuditEntry>, accept: (entry: AuditEntry) => boolean): AsyncGenerator<AuditEntry> {
  for await (const entry of entries) if (accept(entry)) yield entry
}

function integerParam(text: string | undefined, name: string, fallback: number): number {
  if (text === undefined) return fallback
  if (!/^-?\d+$/.test(text.trim())) throw codedError(400, 'invalid_argument', `${name} must be an integer`)
  return Number(text)
}

/** Whether the session a filter names is the tenant's: upstream answers an empty trail for one it does not have, not an error. */
async function sessionKnown({ backend }: HaldirApiContext, filter: AuditFilter): Promise<boolean> {
  if (filter.sessionId === null) return true
  try {
    await backend.getSession({ tenant: filter.tenant, sessionId: filter.sessionId })
    return true
  } catch (error) {
    if (NotFoundError.isInstance(error)) return false
    throw error
  }
}

/** The matching entries, oldest first; none for a session the tenant does not have. */
async function* matching(context: HaldirApiContext, filter: AuditFilter): AsyncGenerator<AuditEntry> {
  if (await sessionKnown(context, filter)) yield* entriesOldestFirst(context.backend, filter)
}
