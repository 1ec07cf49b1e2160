import type { AuthorizeRequest, AuthorizeResult, DenialCode, HaldirBackend } from './backend/haldir-backend.ts'
import { approvalMethods } from './client/approval-methods.ts'
import { demandOf, ruleInput, toApproval } from './client/approval-shapes.ts'
import { controlsInput } from './client/control-shapes.ts'
import { createClientContext, DEFAULT_REDACT } from './client/client-context.ts'
import { ApprovalPendingError } from './errors/approval-pending-error.ts'
import { createHold } from './client/create-hold.ts'
import { createSettleQueue } from './client/settle-queue.ts'
import { type FixedGate, type PreparedGate, registerGateSoon } from './client/gate-soon.ts'
import { type AuthorizeNow, authorizeNowOf } from './backend/decides-now.ts'
import type { DetailsMeasure } from './audit/redact-details.ts'
import type { HaldirError } from './errors/haldir-error.ts'
import { toSession, toSpend } from './client/to-session.ts'
import { BackendError } from './errors/backend-error.ts'
import { ValidationError } from './errors/validation-error.ts'
import { memoryBackend } from './memory/memory-backend.ts'
import { microsToUsd, usdToMicros } from './money/usd-to-micros.ts'
import { denialToError } from './policy/denial-to-error.ts'
import {
  auditQuerySchema,
  createSessionOptionsSchema,
  logActionSchema,
  nameSchema,
  checkPermissionOptionsSchema,
  consistencyProofSchema,
  inclusionProofOptionsSchema,
  readLedgerOptionsSchema,
  treeHeadsOptionsSchema,
  verifyLedgerOptionsSchema,
  gateOptionsSchema,
  holdTtlSchema,
  listHoldsOptionsSchema,
  parseInput,
  parseOptions,
  paymentOptionsSchema,
  reserveOptionsSchema,
  revokeOptionsSchema,
  secretValueSchema,
  storeSecretOptionsSchema,
} from './schemas.ts'
import type { AuditEntry } from './audit/audit-entry.ts'
import { checkOptionKeys } from './internal/check-option-keys.ts'
import type { GateDecision, GateOptions, Haldir } from './types.ts'

// What `gate()` takes as it is (each is checked on its own below): a governor's options need no parse.
const GATE_PASSTHROUGH = new Set(['sessionId', 'scope', 'tool', 'maxCostUsd', 'idempotencyKey', 'details'])
const HALDIR_OPTIONS = ['backend', 'tenant', 'redact', 'settle', 'onSettleError'] as const
// Seconds at the API, milliseconds in the contract.
const holdTtlMs = (seconds: number | undefined): number | null => (seconds === undefined ? null : Math.max(1, Math.round(seconds * 1000)))

export interface HaldirOptions {
  /** Where state lives. @default memoryBackend() */
  backend?: HaldirBackend
  /** The tenant this client acts for (the HTTP backend's API key decides it server-side). @default 'default' */
  tenant?: string
  /** Keys (any depth, case-insensitive) whose values never reach audit details. @default ['password', 'secret', 'token', 'apikey', 'api_key', 'authorization'] */
  redact?: readonly string[]
  /**
   * When a governed call's settle is written. `'deferred'`: after the caller has its result,
   * batched with other settles (one request for many over HTTP); this client's own reads,
   * `flush()` and `close()` wait for it. `'inline'`: before the call returns.
   * `hold.settle()`/`hold.release()` and calls with an idempotency key are always inline.
   * @default the backend's `defaultSettle`, else 'deferred'
   */
  settle?: 'deferred' | 'inline'
  /**
   * Told of a deferred settle that failed for good (after retries when the backend was
   * unreachable); its hold stays reserved until its lease ends. @default a console warning
   */
  onSettleError?: (error: HaldirError, settle: { sessionId: string; holdId: string }) => void
}

/**
 * Creates a Haldir client over a backend (in memory by default).
 *
 * @example
 * const haldir = createHaldir()
 * const session = await haldir.createSession({ agentId: 'researcher', scopes: ['read'], spendLimit: 5 })
 * await haldir.authorizePayment(session.id, 0.01, { description: 'search' })
 */
export function createHaldir(options: HaldirOptions = {}): Haldir {
  checkOptionKeys(options, HALDIR_OPTIONS)
  if (options.settle !== undefined && options.settle !== 'deferred' && options.settle !== 'inline') {
    throw new ValidationError({ issues: [{ path: 'settle', message: `must be 'deferred' or 'inline'; got ${JSON.stringify(options.settle)}` }] })
  }
  if (options.onSettleError !== undefined && typeof options.onSettleError !== 'function') {
    throw new ValidationError({ issues: [{ path: 'onSettleError', message: 'must be a function' }] })
  }
  const onSettleError = options.onSettleError ?? warnSettleError
  const chosenBackend = options.backend ?? memoryBackend()
  const settleMode = options.settle ?? (chosenBackend as { defaultSettle?: unknown }).defaultSettle ?? 'deferred'
  const client = createClientContext({
    backend: chosenBackend,
    tenant: options.tenant ?? 'default',
    redact: options.redact ?? DEFAULT_REDACT,
    settles:
      settleMode === 'inline'
        ? null
        : (backend, tenant) => createSettleQueue({ backend, tenant, onError: (error, request) => onSettleError(error, { sessionId: request.sessionId, holdId: request.holdId }) }),
  })
  const { backend, tenant, id, name, scope } = client
  const queue = client.settles
  /** Read-your-writes: this client's queued settles land before it reads or revokes. */
  const settled = async (): Promise<void> => {
    if (queue) await queue.flush()
  }
  /**
   * A gate waits for queued settles only when they hold money the call might need; `undefined`
   * (no promise at all) when nothing is owed, since the gate of every governed call asks. It
   * first carries a full batch the call before it left (see `SettleQueue.carry`).
   */
  const freed = (): Promise<void> | undefined => {
    if (!queue) return undefined
    queue.carry()
    return queue.slackMicros > 0 ? queue.flush() : undefined
  }

  // The memory backend answers within the call: a governed call then has its decision with no
  // promise between it and the gate (see `gateSoon`).
  const authorizeNow = authorizeNowOf(backend)
  const authorize: AuthorizeNow = authorizeNow ?? ((request: AuthorizeRequest) => backend.authorize(request))
  // Where a gate's details report their JSON length as they are cleaned (read at once, per gate).
  const gateMeasure: DetailsMeasure = { jsonLength: -1 }

  /**
   * `reserve` mode, shared by `reserve()` (a refusal throws) and `gate()` (a refusal is returned):
   * the decision itself when nothing is owed and the backend decided within the call, a promise
   * otherwise. A throw of the backend's is thrown here or rejected there.
   */
  function holdOrRefuse(request: AuthorizeRequest, detailsJsonLength: number): GateDecision | Promise<GateDecision> {
    const freeing = freed()
    if (freeing) return freeing.then(() => authorize(request)).then((result) => toDecision(request, result))
    const answer = authorize(request, detailsJsonLength)
    return answer instanceof Promise ? answer.then((result) => toDecision(request, result)) : toDecision(request, answer)
  }

  function toDecision(request: AuthorizeRequest, result: AuthorizeResult): GateDecision {
    if (result.allowed) return { allowed: true, hold: createHold(client, request.sessionId, result.holdId as string, request.amountMicros) }
    if (result.code === 'approval_pending') {
      const approval = toApproval(result.approval)
      return { allowed: false, pending: true, approval, error: pendingError(approval.id, result.approval.holdId, approval.expiresAt, request.sessionId), reason: result.reason, entry: result.entry }
    }
    return { allowed: false, error: denialToError(result, request.sessionId), reason: result.reason, entry: result.entry }
  }

  /** A `reserve` request: one literal for `gate()`, a governor's prepared gate and `reserve()` (one object shape on the hot path). */
  function reserveRequest(
    sessionId: string,
    amountMicros: number,
    scope: string | null,
    tool: string,
    action: string,
    idempotencyKey: string | null,
    holdTtlMs: number | null,
    approval: AuthorizeRequest['approval'],
    approvalId: string | null,
    details: Record<string, unknown>,
  ): AuthorizeRequest {
    return { tenant, mode: 'reserve', sessionId, amountMicros, scope, tool, action, idempotencyKey, holdTtlMs, approval, approvalId, details }
  }

  /** `gate()` once its caller's options are taken: throws on bad options, else the decision (or its promise). */
  function gateWith(gateOptions: GateOptions): GateDecision | Promise<GateDecision> {
    const checked = parseOptions(gateOptionsSchema, gateOptions, 'options', GATE_PASSTHROUGH)
    const sessionId = id(gateOptions.sessionId, 'sessionId')
    const amountMicros = gateOptions.maxCostUsd === undefined ? 0 : usdToMicros(gateOptions.maxCostUsd, 'maxCostUsd')
    const tool = name(gateOptions.tool, 'tool')
    const request = reserveRequest(
      sessionId,
      amountMicros,
      gateOptions.scope === undefined || gateOptions.scope === null ? null : scope(gateOptions.scope, 'scope'),
      tool,
      gateOptions.action ?? 'execute',
      gateOptions.idempotencyKey === undefined ? null : id(gateOptions.idempotencyKey, 'idempotencyKey'),
      holdTtlMs(checked.holdTtl),
      checked.requireApproval === undefined ? null : demandOf(checked.requireApproval, tool),
      checked.approvalId ?? null,
      client.cleanDetails(gateOptions.details, gateMeasure),
    )
    return holdOrRefuse(request, gateMeasure.jsonLength)
  }

  /** `gateWith` for a governor's calls: what they share is checked once, here (see `PreparedGate`). */
  function prepareGate(fixed: FixedGate): PreparedGate {
    const tool = name(fixed.tool, 'tool')
    const checkedScope = fixed.scope === null ? null : scope(fixed.scope, 'scope')
    const amountMicros = usdToMicros(fixed.maxCostUsd, 'maxCostUsd')
    const lease = holdTtlMs(fixed.holdTtl === undefined ? undefined : parseInput(holdTtlSchema, fixed.holdTtl, 'holdTtl'))
    return (sessionId, details) => {
      const request = reserveRequest(id(sessionId, 'sessionId'), amountMicros, checkedScope, tool, 'execute', null, lease, null, null, client.cleanDetails(details, gateMeasure))
      return holdOrRefuse(request, gateMeasure.jsonLength)
    }
  }

  const pendingError = (approvalId: string, holdId: string, expiresAt: string, sessionId: string) => new ApprovalPendingError({ approvalId, holdId, expiresAt, sessionId })

  const haldir: Haldir = {
    backend,

    async createSession(input) {
      const parsed = parseInput(createSessionOptionsSchema, input)
      const record = await backend.createSession({
        tenant,
        agentId: parsed.agentId,
        scopes: parsed.scopes,
        limitMicros: parsed.spendLimit === undefined || parsed.spendLimit === null ? null : usdToMicros(parsed.spendLimit, 'spendLimit'),
        ttlMs: Math.max(1, Math.round(parsed.ttl * 1000)),
        parentId: parsed.parentId ?? null,
        metadata: parsed.metadata,
        approvalRules: parsed.approvalRules.map(ruleInput),
        controls: controlsInput(parsed),
      })
      return toSession(record)
    },

    async getSession(sessionId) {
      const checkedId = id(sessionId, 'sessionId')
      await settled()
      return toSession(await backend.getSession({ tenant, sessionId: checkedId }))
    },

    async checkPermission(sessionId, requestedScope, checkOptions = {}) {
      parseInput(checkPermissionOptionsSchema, checkOptions, 'options')
      const result = await backend.authorize({
        tenant,
        mode: 'check',
        sessionId: id(sessionId, 'sessionId'),
        amountMicros: 0,
        scope: scope(requestedScope, 'scope'),
        tool: checkOptions.tool === undefined ? 'haldir' : name(checkOptions.tool, 'options.tool'),
        action: 'check_permission',
        idempotencyKey: null,
        holdTtlMs: null,
        approval: null,
        approvalId: null,
        details: client.cleanDetails(checkOptions.details),
      })
      // A check never waits for a person (rules apply to calls that hold money).
      return result.allowed ? { allowed: true } : { allowed: false, code: result.code as DenialCode, reason: result.reason }
    },

    async authorizePayment(sessionId, amountUsd, paymentOptions = {}) {
      const checkedId = id(sessionId, 'sessionId')
      const amountMicros = usdToMicros(amountUsd, 'amountUsd')
      const parsed = parseInput(paymentOptionsSchema, paymentOptions, 'options')
      await freed()
      const result = await backend.authorize({
        tenant,
        mode: 'charge',
        sessionId: checkedId,
        amountMicros,
        scope: parsed.scope ?? null,
        tool: parsed.tool,
        action: 'payment',
        idempotencyKey: parsed.idempotencyKey ?? null,
        holdTtlMs: null,
        approval: demandOf(parsed.requireApproval, parsed.tool),
        approvalId: parsed.approvalId ?? null,
        details: client.cleanDetails(parsed.description === undefined ? parsed.details : { ...parsed.details, description: parsed.description }),
      })
      if (!result.allowed && result.code === 'approval_pending') {
        throw pendingError(result.approval.id, result.approval.holdId, new Date(result.approval.expiresAt).toISOString(), checkedId)
      }
      if (!result.allowed) throw denialToError(result, checkedId)
      return { sessionId: checkedId, amountUsd: microsToUsd(amountMicros), entry: result.entry as AuditEntry }
    },

    async reserve(sessionId, amountUsd, reserveOptions = {}) {
      const checkedId = id(sessionId, 'sessionId')
      const amountMicros = usdToMicros(amountUsd, 'amountUsd')
      const parsed = parseInput(reserveOptionsSchema, reserveOptions, 'options')
      const request = reserveRequest(
        checkedId,
        amountMicros,
        parsed.scope ?? null,
        parsed.tool,
        'reserve',
        parsed.idempotencyKey ?? null,
        holdTtlMs(parsed.holdTtl),
        demandOf(parsed.requireApproval, parsed.tool),
        parsed.approvalId ?? null,
        client.cleanDetails(parsed.details),
      )
      const decision = await holdOrRefuse(request, -1)
      if (!decision.allowed) throw decision.error
      return decision.hold
    },

    // Not `async`: an async function that returns a promise costs two more turns of the microtask
    // queue on every governed call. Bad options still reject, as from an async function.
    gate(gateOptions) {
      try {
        return Promise.resolve(gateWith(gateOptions))
      } catch (error) {
        return Promise.reject(error)
      }
    },

    async logAction(sessionId, input) {
      const checkedId = id(sessionId, 'sessionId')
      const parsed = parseInput(logActionSchema, input, 'input')
      return backend.appendAudit({
        tenant,
        sessionId: checkedId,
        tool: parsed.tool,
        action: parsed.action,
        scope: parsed.scope ?? null,
        outcome: parsed.outcome,
        flagged: parsed.flagged ?? parsed.outcome !== 'ok',
        reason: parsed.reason ?? null,
        costMicros: parsed.costUsd === undefined ? 0 : usdToMicros(parsed.costUsd, 'costUsd'),
        details: client.cleanDetails(parsed.details),
      })
    },

    async getSpend(sessionId) {
      const checkedId = id(sessionId, 'sessionId')
      await settled()
      return toSpend(await backend.getSpend({ tenant, sessionId: checkedId }))
    },

    async getAuditTrail(query) {
      const parsed = parseInput(auditQuerySchema, query, 'query')
      await settled()
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
      const checkedId = id(sessionId, 'sessionId')
      await settled()
      return backend.verifyAudit({ tenant, sessionId: checkedId })
    },

    async revokeSession(sessionId, revokeOptions = {}) {
      const parsed = parseInput(revokeOptionsSchema, revokeOptions, 'options')
      const checkedId = id(sessionId, 'sessionId')
      // Revoking releases open holds: calls that completed are charged first.
      await settled()
      return backend.revokeSession({ tenant, sessionId: checkedId, reason: parsed.reason ?? null })
    },

    async storeSecret(name, value, secretOptions = {}) {
      const checkedName = parseInput(nameSchema, name, 'name')
      parseInput(secretValueSchema, value, 'value')
      const parsed = parseInput(storeSecretOptionsSchema, secretOptions, 'options')
      client.rememberSecret(value)
      await backend.putSecret({ tenant, name: checkedName, value, scopeRequired: parsed.scopeRequired ?? null })
    },

    async getSecret(name, secretOptions) {
      const checkedName = parseInput(nameSchema, name, 'name')
      if (typeof secretOptions !== 'object' || secretOptions === null) {
        throw new ValidationError({ issues: [{ path: 'options.sessionId', message: 'a sessionId is required to read a secret' }] })
      }
      const value = await backend.readSecret({ tenant, name: checkedName, sessionId: id(secretOptions.sessionId, 'options.sessionId') })
      client.rememberSecret(value)
      return value
    },

    async listSecrets() {
      if (!backend.listSecrets) throw new BackendError({ message: `The ${backend.name} backend does not list secrets`, status: 501 })
      return backend.listSecrets({ tenant })
    },

    async deleteSecret(name) {
      const checkedName = parseInput(nameSchema, name, 'name')
      if (!backend.deleteSecret) throw new BackendError({ message: `The ${backend.name} backend does not delete secrets`, status: 501 })
      await backend.deleteSecret({ tenant, name: checkedName })
    },

    async listHolds(listOptions = {}) {
      const parsed = parseInput(listHoldsOptionsSchema, listOptions, 'options')
      await settled()
      const holds = await backend.listHolds({ tenant, sessionId: parsed.sessionId ?? null, limit: parsed.limit })
      return holds.map((hold) => ({
        id: hold.id,
        sessionId: hold.sessionId,
        amountUsd: microsToUsd(hold.amountMicros),
        tool: hold.tool,
        scope: hold.scope,
        createdAt: new Date(hold.createdAt).toISOString(),
        expiresAt: new Date(hold.expiresAt).toISOString(),
      }))
    },

    async releaseHold(holdId, releaseOptions = {}) {
      const parsed = parseInput(revokeOptionsSchema, releaseOptions, 'options')
      const checkedId = id(holdId, 'holdId')
      await settled()
      return backend.releaseHold({ tenant, holdId: checkedId, reason: parsed.reason ?? null })
    },

    async sweepHolds() {
      await settled()
      return backend.sweepHolds({ tenant, limit: 10_000 })
    },

    async getTreeHead() {
      await settled()
      return backend.treeHead({ tenant })
    },

    async getInclusionProof(entryId, proofOptions = {}) {
      const parsed = parseInput(inclusionProofOptionsSchema, proofOptions, 'options')
      const checkedId = id(entryId, 'entryId')
      await settled()
      return backend.inclusionProof({ tenant, entryId: checkedId, treeSize: parsed.treeSize ?? null })
    },

    async getConsistencyProof(first, second) {
      const sizes = parseInput(consistencyProofSchema, { first, second }, '')
      await settled()
      return backend.consistencyProof({ tenant, ...sizes })
    },

    async listTreeHeads(listOptions = {}) {
      const parsed = parseInput(treeHeadsOptionsSchema, listOptions, 'options')
      await settled()
      return backend.treeHeads({ tenant, sinceSize: parsed.sinceSize, limit: parsed.limit })
    },

    getLedgerKeys: () => backend.ledgerKeys({ tenant }),

    async readLedger(readOptions = {}) {
      const parsed = parseInput(readLedgerOptionsSchema, readOptions, 'options')
      await settled()
      return backend.ledgerPage({ tenant, from: parsed.from, limit: parsed.limit })
    },

    async verifyLedger(verifyOptions = {}) {
      const parsed = parseInput(verifyLedgerOptionsSchema, verifyOptions, 'options')
      await settled()
      return backend.verifyLedger({ tenant, earlierHead: parsed.earlierHead ?? null })
    },

    ...approvalMethods(client),

    flush: settled,

    async close() {
      await settled()
      await backend.close?.()
    },
  }
  registerGateSoon(haldir, { soon: gateWith, prepare: prepareGate })
  return haldir
}

function warnSettleError(error: HaldirError, settle: { sessionId: string; holdId: string }): void {
  console.warn(`haldir: the settle of hold ${settle.holdId} (session ${settle.sessionId}) failed; the hold is released when its lease ends: ${error.message}`)
}
