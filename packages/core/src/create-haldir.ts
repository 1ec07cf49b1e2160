import type { AuditEntry } from './audit/audit-entry.ts'
import { redactDetails } from './audit/redact-details.ts'
import type { AuthorizeRequest, HaldirBackend, SessionRecord } from './backend.ts'
import { ValidationError } from './errors/validation-error.ts'
import { errorMessage } from './internal/error-message.ts'
import { memoryBackend } from './memory/memory-backend.ts'
import { microsToUsd, usdToMicros } from './money/usd-to-micros.ts'
import { denialToError } from './policy/denial-to-error.ts'
import {
  auditQuerySchema,
  createSessionOptionsSchema,
  idSchema,
  logActionSchema,
  nameSchema,
  parseInput,
  paymentOptionsSchema,
  reserveOptionsSchema,
  scopeSchema,
  storeSecretOptionsSchema,
} from './schemas.ts'
import type { GateDecision, Haldir, Hold, ReleaseOptions, Session, SettleOptions } from './types.ts'

export interface HaldirOptions {
  /** Where state lives. @default memoryBackend() */
  backend?: HaldirBackend
  /** The tenant this client acts for (the HTTP backend's API key decides it server-side). @default 'default' */
  tenant?: string
  /** Keys (any depth, case-insensitive) whose values never reach audit details. @default ['password', 'secret', 'token', 'apikey', 'api_key', 'authorization'] */
  redact?: readonly string[]
}

const DEFAULT_REDACT = ['password', 'secret', 'token', 'apikey', 'api_key', 'authorization']
// Shorter values would blank out ordinary words in the trail.
const MIN_TRACKED_SECRET_LENGTH = 4

/**
 * Creates a Haldir client over a backend (in memory by default).
 *
 * @example
 * const haldir = createHaldir()
 * const session = await haldir.createSession({ agentId: 'researcher', scopes: ['read'], spendLimit: 5 })
 * await haldir.authorizePayment(session.id, 0.01, { description: 'search' })
 */
export function createHaldir(options: HaldirOptions = {}): Haldir {
  const backend = options.backend ?? memoryBackend()
  const tenant = parseInput(idSchema, options.tenant ?? 'default', 'tenant')
  const redactKeys = new Set((options.redact ?? DEFAULT_REDACT).map((key) => key.toLowerCase()))
  const secretValues = new Set<string>()
  const redactOptions = { keys: redactKeys, secretValues }

  const id = (value: unknown, path: string): string => parseInput(idSchema, value, path)

  function cleanDetails(details: Record<string, unknown> | undefined): Record<string, unknown> {
    if (details === undefined) return {}
    if (typeof details !== 'object' || details === null || Array.isArray(details)) {
      throw new ValidationError({ issues: [{ path: 'details', message: 'must be a plain object' }] })
    }
    return redactDetails(details, redactOptions)
  }

  function rememberSecret(value: string): void {
    if (value.length >= MIN_TRACKED_SECRET_LENGTH) secretValues.add(value)
  }

  function makeHold(sessionId: string, holdId: string, amountMicros: number): Hold {
    return {
      id: holdId,
      sessionId,
      amountUsd: microsToUsd(amountMicros),
      async settle(actualUsd: number, settleOptions: SettleOptions = {}) {
        const amount = usdToMicros(actualUsd, 'actualUsd')
        const { entry } = await backend.settle({
          tenant,
          sessionId,
          holdId,
          amountMicros: amount,
          outcome: 'ok',
          action: settleOptions.action ?? 'execute',
          flagged: settleOptions.flagged ?? false,
          reason: settleOptions.reason ?? null,
          details: cleanDetails(settleOptions.details),
        })
        return entry
      },
      async release(releaseOptions: ReleaseOptions = {}) {
        const failed = releaseOptions.error !== undefined
        const { entry } = await backend.settle({
          tenant,
          sessionId,
          holdId,
          amountMicros: 0,
          outcome: failed ? 'error' : 'ok',
          action: releaseOptions.action ?? (failed ? 'execute' : 'release'),
          flagged: failed,
          reason: releaseOptions.reason ?? (failed ? errorMessage(releaseOptions.error) : null),
          details: cleanDetails(releaseOptions.details),
        })
        return entry
      },
    }
  }

  // Not async: one promise fewer per gate call, which is measurable inside framework async contexts.
  function authorize(request: Omit<AuthorizeRequest, 'tenant'>) {
    return backend.authorize({ tenant, ...request })
  }

  const haldir: Haldir = {
    backend,

    async createSession(input) {
      const parsed = parseInput(createSessionOptionsSchema, input)
      const limitMicros = parsed.spendLimit === undefined || parsed.spendLimit === null ? null : usdToMicros(parsed.spendLimit, 'spendLimit')
      const record = await backend.createSession({
        tenant,
        agentId: parsed.agentId,
        scopes: parsed.scopes,
        limitMicros,
        ttlMs: Math.max(1, Math.round(parsed.ttl * 1000)),
        parentId: parsed.parentId ?? null,
        metadata: parsed.metadata,
      })
      return toSession(record)
    },

    async getSession(sessionId) {
      return toSession(await backend.getSession({ tenant, sessionId: id(sessionId, 'sessionId') }))
    },

    async checkPermission(sessionId, scope, checkOptions = {}) {
      const result = await authorize({
        sessionId: id(sessionId, 'sessionId'),
        mode: 'check',
        scope: parseInput(scopeSchema, scope, 'scope'),
        tool: checkOptions.tool === undefined ? 'haldir' : parseInput(nameSchema, checkOptions.tool, 'options.tool'),
        action: 'check_permission',
        amountMicros: 0,
        idempotencyKey: null,
        details: cleanDetails(checkOptions.details),
      })
      return result.allowed ? { allowed: true } : { allowed: false, code: result.code, reason: result.reason }
    },

    async authorizePayment(sessionId, amountUsd, paymentOptions = {}) {
      const checkedId = id(sessionId, 'sessionId')
      const amountMicros = usdToMicros(amountUsd, 'amountUsd')
      const parsed = parseInput(paymentOptionsSchema, paymentOptions, 'options')
      const details = cleanDetails(parsed.description === undefined ? parsed.details : { ...parsed.details, description: parsed.description })
      const result = await authorize({
        sessionId: checkedId,
        mode: 'charge',
        scope: parsed.scope ?? null,
        tool: parsed.tool,
        action: 'payment',
        amountMicros,
        idempotencyKey: parsed.idempotencyKey ?? null,
        details,
      })
      if (!result.allowed) throw denialToError(result, checkedId)
      return { sessionId: checkedId, amountUsd: microsToUsd(amountMicros), entry: result.entry as AuditEntry }
    },

    async reserve(sessionId, amountUsd, reserveOptions = {}) {
      const checkedId = id(sessionId, 'sessionId')
      const amountMicros = usdToMicros(amountUsd, 'amountUsd')
      const parsed = parseInput(reserveOptionsSchema, reserveOptions, 'options')
      const result = await authorize({
        sessionId: checkedId,
        mode: 'reserve',
        scope: parsed.scope ?? null,
        tool: parsed.tool,
        action: 'reserve',
        amountMicros,
        idempotencyKey: parsed.idempotencyKey ?? null,
        details: cleanDetails(parsed.details),
      })
      if (!result.allowed) throw denialToError(result, checkedId)
      return makeHold(checkedId, result.holdId as string, amountMicros)
    },

    async gate(gateOptions): Promise<GateDecision> {
      const sessionId = id(gateOptions.sessionId, 'sessionId')
      const scope = gateOptions.scope === undefined || gateOptions.scope === null ? null : parseInput(scopeSchema, gateOptions.scope, 'scope')
      const amountMicros = gateOptions.maxCostUsd === undefined ? 0 : usdToMicros(gateOptions.maxCostUsd, 'maxCostUsd')
      const result = await authorize({
        sessionId,
        mode: 'reserve',
        scope,
        tool: parseInput(nameSchema, gateOptions.tool, 'tool'),
        action: gateOptions.action ?? 'execute',
        amountMicros,
        idempotencyKey: gateOptions.idempotencyKey === undefined ? null : id(gateOptions.idempotencyKey, 'idempotencyKey'),
        details: cleanDetails(gateOptions.details),
      })
      if (!result.allowed) return { allowed: false, error: denialToError(result, sessionId), reason: result.reason, entry: result.entry }
      return { allowed: true, hold: makeHold(sessionId, result.holdId as string, amountMicros) }
    },

    async logAction(sessionId, input) {
      const checkedId = id(sessionId, 'sessionId')
      const parsed = parseInput(logActionSchema, input, 'input')
      const costMicros = parsed.costUsd === undefined ? 0 : usdToMicros(parsed.costUsd, 'costUsd')
      return backend.appendAudit({
        tenant,
        sessionId: checkedId,
        tool: parsed.tool,
        action: parsed.action,
        scope: parsed.scope ?? null,
        outcome: parsed.outcome,
        flagged: parsed.flagged ?? parsed.outcome !== 'ok',
        reason: parsed.reason ?? null,
        costMicros,
        details: cleanDetails(parsed.details),
      })
    },

    async getSpend(sessionId) {
      const spend = await backend.getSpend({ tenant, sessionId: id(sessionId, 'sessionId') })
      const byTool: Record<string, number> = {}
      for (const [tool, micros] of Object.entries(spend.byTool)) byTool[tool] = microsToUsd(micros)
      return {
        totalUsd: microsToUsd(spend.spentMicros),
        limitUsd: spend.limitMicros === null ? null : microsToUsd(spend.limitMicros),
        remainingUsd: spend.limitMicros === null ? null : microsToUsd(Math.max(0, spend.limitMicros - spend.spentMicros - spend.reservedMicros)),
        reservedUsd: microsToUsd(spend.reservedMicros),
        byTool,
      }
    },

    async getAuditTrail(query) {
      const parsed = parseInput(auditQuerySchema, query, 'query')
      return backend.queryAudit({
        tenant,
        sessionId: parsed.sessionId ?? null,
        agentId: parsed.agentId ?? null,
        outcome: parsed.outcome ?? null,
        flagged: parsed.flagged ?? null,
        limit: parsed.limit,
        offset: parsed.offset,
      })
    },

    async verifyAuditTrail(sessionId) {
      return backend.verifyAudit({ tenant, sessionId: id(sessionId, 'sessionId') })
    },

    async revokeSession(sessionId, revokeOptions = {}) {
      const reason = revokeOptions.reason === undefined ? null : parseInput(nameSchema, revokeOptions.reason, 'reason')
      return backend.revokeSession({ tenant, sessionId: id(sessionId, 'sessionId'), reason })
    },

    async storeSecret(name, value, secretOptions = {}) {
      const checkedName = parseInput(nameSchema, name, 'name')
      if (typeof value !== 'string') throw new ValidationError({ issues: [{ path: 'value', message: 'must be a string' }] })
      const parsed = parseInput(storeSecretOptionsSchema, secretOptions, 'options')
      rememberSecret(value)
      await backend.putSecret({ tenant, name: checkedName, value, scopeRequired: parsed.scopeRequired ?? null })
    },

    async getSecret(name, secretOptions) {
      const checkedName = parseInput(nameSchema, name, 'name')
      if (typeof secretOptions !== 'object' || secretOptions === null) {
        throw new ValidationError({ issues: [{ path: 'options.sessionId', message: 'a sessionId is required to read a secret' }] })
      }
      const value = await backend.readSecret({ tenant, name: checkedName, sessionId: id(secretOptions.sessionId, 'options.sessionId') })
      rememberSecret(value)
      return value
    },

    async close() {
      await backend.close?.()
    },
  }
  return haldir
}

function toSession(record: SessionRecord): Session {
  return {
    id: record.id,
    agentId: record.agentId,
    scopes: [...record.scopes],
    spendLimit: record.limitMicros === null ? null : microsToUsd(record.limitMicros),
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: new Date(record.expiresAt).toISOString(),
    parentId: record.parentId,
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
    metadata: record.metadata,
  }
}
