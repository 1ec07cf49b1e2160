import { chargeAfterCall } from './adapter/charge-after-call.ts'
import { deferredClose } from './client/deferred-hold.ts'
import { type GateSoonOf, gateSoonOf, type PreparedGate } from './client/gate-soon.ts'
import { ValidationError } from './errors/validation-error.ts'
import { usdToMicros } from './money/usd-to-micros.ts'
import { checkOptionKeys } from './internal/check-option-keys.ts'
import { holdTtlSchema, nameSchema, parseInput, scopeSchema } from './schemas.ts'
import { requireApprovalSchema } from './schemas.ts'
import type { GateDecision, GateOptions, Haldir, Hold, RequireApproval } from './types.ts'

/** A refusal of the gate, as the governed call sees it (a call waiting for approval included). */
export type DeniedDecision = Extract<GateDecision, { allowed: false }>

/** A call the gate sent to a person: nothing ran, its cost is held. */
export type PendingDecision = Extract<GateDecision, { pending: true }>

/**
 * What a governed call does when it is sent to a person: `'wait'` for the decision (then run,
 * or be refused like any denial), `'throw'` the `ApprovalPendingError` (carrying `approvalId` to
 * go on with later), return a `PENDING: …` `'message'`, or whatever a function makes of it.
 */
export type OnPending<Input = unknown> = 'wait' | 'throw' | 'message' | ((pending: PendingDecision, input: Input) => unknown)

/** Per call: stop waiting with a signal, or go on with the approval an earlier attempt was sent to. */
export interface GovernedCallOptions {
  signal?: AbortSignal
  approvalId?: string
  /**
   * The gate's answer for this very call, when a framework hook asked it first (an approval hook
   * runs before the tool): used instead of asking again, so the call still costs one gate.
   */
  decision?: GateDecision
}

/**
 * What a governed call does when the gate refuses it: `'throw'` the typed error, return a
 * `BLOCKED: …` `'message'` for the model, or return whatever a function makes of the refusal
 * (an adapter's framework-shaped answer, such as an error `ToolMessage`).
 */
export type OnDenied<Input = unknown> = 'throw' | 'message' | ((decision: DeniedDecision, input: Input) => unknown)

export interface GovernOptions<Input, Result> {
  haldir: Haldir
  /** The session the call is charged to; a function picks it per call (one session per agent or user). */
  sessionId: string | ((input: Input) => string)
  /** The scope the session must hold; omitted: liveness and budget only. */
  scope?: string | null
  /** Name in the audit trail and in `byTool`. */
  auditName?: string
  /** @deprecated Use `auditName`; this alias goes in the next minor release. */
  tool?: string
  /** USD per call, or computed from the input and result once known (then `maxCost` is reserved first). @default 0 */
  cost?: number | ((input: Input, result: Result) => number)
  /** Reserved before the call when `cost` is a function; the actual cost is settled after. */
  maxCost?: number
  /** `'throw'` the typed error, return a short `BLOCKED: …` message, or map the refusal yourself. @default 'throw' */
  onDenied?: OnDenied<Input>
  /** Record the input in the audit entry (`{ args }`), or map it to details yourself. @default true */
  recordInput?: boolean | ((input: Input) => Record<string, unknown>)
  /** @deprecated Use `recordInput`; this alias goes in the next minor release. */
  details?: boolean | ((input: Input) => Record<string, unknown>)
  /**
   * A key per call: one key, one execution. A retry with the same key is charged once; while the
   * first call with a key runs, another call with it in this process waits for its outcome
   * instead of running; once it has run, the gate refuses the key (`IdempotencyError`).
   */
  idempotencyKey?: (input: Input) => string | undefined
  /** Seconds a call's hold stays open before its lease ends and it is released. @default 900 */
  holdTtl?: number
  /**
   * Sends calls to a person (besides the session's and the tenant's rules): always, or when a
   * predicate in your code says so (a reason string, `true`, or a rule's options; falsy: no).
   */
  requireApproval?: RequireApproval | ((input: Input) => RequireApproval | false | null | undefined)
  /** What a call sent to a person does. @default 'wait' */
  onPending?: OnPending<Input>
  /** Seconds a waiting call waits at most (the approval stays open after). @default until it is decided or times out */
  approvalWait?: number
}

const GOVERN_OPTIONS = [
  'haldir',
  'sessionId',
  'scope',
  'auditName',
  'tool',
  'cost',
  'maxCost',
  'onDenied',
  'recordInput',
  'details',
  'idempotencyKey',
  'holdTtl',
  'requireApproval',
  'onPending',
  'approvalWait',
] as const

/** The refusal a governed call reports to the model (`onDenied: 'message'`). */
export function deniedMessage(decision: DeniedDecision): string {
  return `BLOCKED: ${decision.reason}`
}

/** What a governed call reports when it is sent to a person (`onPending: 'message'`). */
export function pendingMessage(decision: PendingDecision): string {
  return `PENDING: approval ${decision.approval.id} requested (${decision.approval.reason}); nothing ran, the cost is held until a person decides`
}

/** Runs one call through the gate; resolves to the result, or to what `onDenied` made of a refusal. */
export interface Governor<Input, Result> {
  (input: Input, run: () => Result | Promise<Result>, call?: GovernedCallOptions): Promise<Result | string>
  /**
   * The same gate around a streaming call: reserved before the first chunk, settled (cost from
   * the last chunk) when the stream ends or the consumer stops, released if it throws. A refusal
   * is thrown, or yielded as the only chunk.
   */
  stream(input: Input, run: () => AsyncIterable<Result>, call?: GovernedCallOptions): AsyncGenerator<Result | string, void, undefined>
  /**
   * Asks the gate for a call without running it, as the governed call would (same session,
   * scope, cost, details): for a framework hook that runs before the tool (an approval hook).
   * Hand the answer to the call as `decision`. `requireApproval` adds to what the options say.
   */
  decide(input: Input, options?: { approvalId?: string; requireApproval?: RequireApproval }): Promise<GateDecision>
}

/**
 * Validates the options once and returns the gate for many calls: one backend call to check
 * scope, liveness and budget and reserve the cost; run; one call to settle the actual cost and
 * write the entry. A throw releases the hold and is audited as an error, then rethrown.
 */
export function createGovernor<Input, Result>(options: GovernOptions<Input, Result>): Governor<Input, Result> {
  checkOptionKeys(options, GOVERN_OPTIONS)
  const { haldir, cost } = options
  if (typeof haldir !== 'object' || haldir === null || typeof haldir.gate !== 'function') {
    throw new ValidationError({ issues: [{ path: 'haldir', message: 'must be a Haldir client from createHaldir()' }] })
  }
  const tool = parseInput(nameSchema, options.auditName ?? options.tool, 'auditName')
  const scope = options.scope === undefined || options.scope === null ? null : parseInput(scopeSchema, options.scope, 'scope')
  const onDenied = options.onDenied ?? 'throw'
  if (onDenied !== 'throw' && onDenied !== 'message' && typeof onDenied !== 'function') {
    throw new ValidationError({ issues: [{ path: 'onDenied', message: "must be 'throw', 'message' or a function" }] })
  }
  let reserveUsd: number
  if (typeof cost === 'function') {
    if (options.maxCost === undefined) {
      throw new ValidationError({ issues: [{ path: 'maxCost', message: 'is required when cost is a function: it is reserved before the call' }] })
    }
    usdToMicros(options.maxCost, 'maxCost')
    reserveUsd = options.maxCost
  } else {
    reserveUsd = cost ?? 0
    usdToMicros(reserveUsd, 'cost')
    if (options.maxCost !== undefined) usdToMicros(options.maxCost, 'maxCost')
  }
  const pickSession = options.sessionId
  const describe = options.recordInput ?? options.details ?? true
  const holdTtl = options.holdTtl === undefined ? undefined : parseInput(holdTtlSchema, options.holdTtl, 'holdTtl')
  const onPending = options.onPending ?? 'wait'
  if (onPending !== 'wait' && onPending !== 'throw' && onPending !== 'message' && typeof onPending !== 'function') {
    throw new ValidationError({ issues: [{ path: 'onPending', message: "must be 'wait', 'throw', 'message' or a function" }] })
  }
  const requireApproval = options.requireApproval
  if (requireApproval !== undefined && typeof requireApproval !== 'function') parseInput(requireApprovalSchema, requireApproval, 'requireApproval')
  if (options.approvalWait !== undefined && !(typeof options.approvalWait === 'number' && options.approvalWait > 0 && Number.isFinite(options.approvalWait))) {
    throw new ValidationError({ issues: [{ path: 'approvalWait', message: 'must be a positive number of seconds' }] })
  }
  const demandFor = (input: Input): RequireApproval | undefined => {
    if (typeof requireApproval !== 'function') return requireApproval
    return requireApproval(input) || undefined
  }
  // Calls in flight by session and idempotency key: a second call with the key joins the first.
  const inFlight = new Map<string, Promise<Result | string>>()

  function gate(input: Input, approvalId: string | undefined, extra?: RequireApproval): Promise<GateDecision> {
    const demand = approvalId === undefined ? (demandFor(input) ?? extra) : undefined
    return haldir.gate(gateRequest(input, idempotencyKeyOf(input), demand, approvalId))
  }

  // The gate prepared from the client's registered one, with this governor's scope, tool, cost and lease (on the first call).
  let prepared: { soon: GateSoonOf; gate: PreparedGate } | undefined

  /**
   * `gate`, with the decision itself where the client decided it within the call (memory): the
   * governed call then runs with no turn of the microtask queue before it. Throws on bad options.
   */
  function gateSoon(input: Input, key: string | undefined, approvalId: string | undefined): GateDecision | Promise<GateDecision> {
    const soon = gateSoonOf(haldir)
    const demand = approvalId === undefined ? demandFor(input) : undefined
    // Most calls differ only in their session and details: what they share was checked once.
    if (soon !== undefined && approvalId === undefined && key === undefined && demand === undefined) {
      if (prepared?.soon !== soon) prepared = { soon, gate: soon.prepare(holdTtl === undefined ? { scope, tool, maxCostUsd: reserveUsd } : { scope, tool, maxCostUsd: reserveUsd, holdTtl }) }
      return prepared.gate(sessionOf(input), detailsOf(input))
    }
    const request = gateRequest(input, key, demand, approvalId)
    return soon === undefined ? haldir.gate(request) : soon.soon(request)
  }

  function gateRequest(input: Input, key: string | undefined, demand: RequireApproval | undefined, approvalId: string | undefined): GateOptions {
    // One literal, keys added only when set.
    const request: GateOptions = { sessionId: sessionOf(input), scope, tool, maxCostUsd: reserveUsd, details: detailsOf(input) }
    if (key !== undefined) request.idempotencyKey = key
    if (holdTtl !== undefined) request.holdTtl = holdTtl
    if (demand !== undefined) request.requireApproval = demand
    if (approvalId !== undefined) request.approvalId = approvalId
    return request
  }

  const sessionOf = (input: Input): string => (typeof pickSession === 'function' ? pickSession(input) : pickSession)
  const detailsOf = (input: Input): Record<string, unknown> | undefined => (describe === true ? { args: input } : describe === false ? undefined : describe(input))

  async function enter(input: Input, call: GovernedCallOptions | undefined): Promise<{ hold: Hold } | { denied: unknown }> {
    let decision = call?.decision ?? (await gate(input, call?.approvalId))
    if (!decision.allowed && decision.pending === true) {
      if (onPending !== 'wait') {
        if (onPending === 'throw') throw decision.error
        return { denied: onPending === 'message' ? pendingMessage(decision) : onPending(decision, input) }
      }
      const waited = await haldir.waitForApproval(decision.approval.id, {
        ...(options.approvalWait === undefined ? {} : { timeout: options.approvalWait }),
        ...(call?.signal ? { signal: call.signal } : {}),
      })
      // Decided (or still waiting when the wait ran out): the gate gives the answer, audited.
      if (waited.status !== 'pending') decision = await gate(input, waited.id)
    }
    if (decision.allowed) return { hold: decision.hold }
    if (onDenied === 'throw') throw decision.error
    return { denied: onDenied === 'message' ? deniedMessage(decision) : onDenied(decision, input) }
  }

  /**
   * A call with an idempotency key settles inline (a retry must find its hold closed); any
   * other settles through the client's queue when it has one: the caller waits for the decision
   * only, the entry is written right after with other settles.
   */
  const closer = (hold: Hold, key: string | undefined) => (key === undefined ? deferredClose(hold) : undefined)

  async function release(hold: Hold, key: string | undefined, error: unknown, started: number): Promise<void> {
    const options = { error, details: { durationMs: elapsed(started) } }
    const later = closer(hold, key)
    if (later) later.releaseLater(options)
    else await hold.release(options)
  }

  /** Queues the settle (nothing to wait for: `undefined`) or writes it inline. */
  function settle(hold: Hold, key: string | undefined, input: Input, result: Result, started: number): Promise<unknown> | undefined {
    const later = closer(hold, key)
    if (typeof cost !== 'function') {
      if (later) return void later.settleTimed(reserveUsd, elapsed(started))
      return hold.settle(reserveUsd, { details: { durationMs: elapsed(started) } })
    }
    const { actualUsd: actual, problem } = chargeAfterCall(cost, input, result, reserveUsd)
    const options = { details: { durationMs: elapsed(started) }, flagged: problem !== null, ...(problem ? { reason: problem } : {}) }
    if (later) return void later.settleLater(actual, options)
    return hold.settle(actual, options)
  }

  const idempotencyKeyOf = (input: Input) => options.idempotencyKey?.(input)

  const governed = function governed(input: Input, run: () => Result | Promise<Result>, call?: GovernedCallOptions): Promise<Result | string> {
    const key = idempotencyKeyOf(input)
    if (key === undefined) return once(input, key, run, call)
    const slot = `${sessionOf(input)}\u0000${key}`
    const running = inFlight.get(slot)
    if (running) return running
    const pending = once(input, key, run, call).finally(() => inFlight.delete(slot))
    inFlight.set(slot, pending)
    return pending
  } as Governor<Input, Result>

  async function once(input: Input, key: string | undefined, run: () => Result | Promise<Result>, call: GovernedCallOptions | undefined): Promise<Result | string> {
    // The gate let the call through (most calls): go on without `enter`'s extra promise, and
    // without awaiting a decision the client gave at once.
    let decision = call?.decision ?? gateSoon(input, key, call?.approvalId)
    if (decision instanceof Promise) decision = await decision
    let hold: Hold
    if (decision.allowed) hold = decision.hold
    else {
      const entered = await enter(input, { ...call, decision })
      if (!('hold' in entered)) return entered.denied as Result
      hold = entered.hold
    }
    const started = performance.now()
    let result: Result
    try {
      result = await run()
    } catch (error) {
      await release(hold, key, error, started)
      throw error
    }
    const settling = settle(hold, key, input, result, started)
    if (settling !== undefined) await settling
    return result
  }

  governed.decide = (input, decideOptions = {}) => {
    if (decideOptions.requireApproval !== undefined) parseInput(requireApprovalSchema, decideOptions.requireApproval, 'requireApproval')
    return gate(input, decideOptions.approvalId, decideOptions.requireApproval)
  }

  governed.stream = async function* governedStream(input, run, call) {
    const entered = await enter(input, call)
    if (!('hold' in entered)) {
      yield entered.denied as Result
      return
    }
    const key = idempotencyKeyOf(input)
    const started = performance.now()
    let last: Result | undefined
    let failed = false
    try {
      for await (const chunk of run()) {
        last = chunk
        yield chunk
      }
    } catch (error) {
      failed = true
      await release(entered.hold, key, error, started)
      throw error
    } finally {
      // Also reached when the consumer stops early: the work ran, so it is settled, not released.
      if (!failed) await settle(entered.hold, key, input, last as Result, started)
    }
  }
  return governed
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000
}
