import type { AuditEntry } from '../audit/audit-entry.ts'
import type { SettleRequest } from '../backend/haldir-backend.ts'
import { normalizeText } from '../internal/well-formed-text.ts'
import { parseOptions, releaseOptionsSchema, settleOptionsSchema } from '../schemas.ts'
import { errorMessage } from '../internal/error-message.ts'
import { microsToUsd, usdToMicros } from '../money/usd-to-micros.ts'
import type { Hold, ReleaseOptions, SettleOptions } from '../types.ts'
import type { ClientContext } from './client-context.ts'
import type { SettleQueue } from './settle-queue.ts'
import { deferred, type DeferredClose } from './deferred-hold.ts'

// The options a governed call closes its hold with take these keys as they are: no parse needed.
const SETTLE_PASSTHROUGH = new Set(['details'])
const RELEASE_PASSTHROUGH = new Set(['details', 'error'])

/**
 * The client's handle on a hold: settle and release are one backend call, differing only in
 * what they charge and record. With a settle queue the hold also closes `deferred`: validated
 * now (a bad amount throws before anything is queued), written after with later settles.
 */
export function createHold(client: ClientContext, sessionId: string, holdId: string, amountMicros: number): Hold {
  // Two closures (the hold's methods work detached, as they always have); the requests are built
  // by module functions and the queued close is a class instance: this runs on every governed call.
  const hold: Hold & { [deferred]?: DeferredClose } = {
    id: holdId,
    sessionId,
    amountUsd: microsToUsd(amountMicros),
    settle: (actualUsd, options = {}) => close(client, settleRequest(client, sessionId, holdId, actualUsd, options)),
    release: (options = {}) => close(client, releaseRequest(client, sessionId, holdId, options)),
  }
  const queue = client.settles
  if (queue) hold[deferred] = new QueuedClose(client, queue, sessionId, holdId, amountMicros)
  return hold
}

/** Settle and release through the client's queue: validated now, written with the next batch. */
class QueuedClose implements DeferredClose {
  readonly #client: ClientContext
  readonly #queue: SettleQueue
  readonly #sessionId: string
  readonly #holdId: string
  readonly #amountMicros: number

  constructor(client: ClientContext, queue: SettleQueue, sessionId: string, holdId: string, amountMicros: number) {
    this.#client = client
    this.#queue = queue
    this.#sessionId = sessionId
    this.#holdId = holdId
    this.#amountMicros = amountMicros
  }

  settle(actualUsd: number, options: SettleOptions = {}): void {
    const request = settleRequest(this.#client, this.#sessionId, this.#holdId, actualUsd, options)
    this.#queue.push(request, Math.max(0, this.#amountMicros - request.amountMicros))
  }

  release(options: ReleaseOptions = {}): void {
    this.#queue.push(releaseRequest(this.#client, this.#sessionId, this.#holdId, options), this.#amountMicros)
  }
}

async function close(client: ClientContext, request: SettleRequest): Promise<AuditEntry> {
  return (await client.backend.settle(request)).entry
}

// One request literal per path (no spread of shared fields): this runs on every governed call.
function settleRequest(client: ClientContext, sessionId: string, holdId: string, actualUsd: number, options: SettleOptions): SettleRequest {
  const parsed = parseOptions(settleOptionsSchema, options, 'options', SETTLE_PASSTHROUGH)
  return {
    tenant: client.tenant,
    sessionId,
    holdId,
    amountMicros: usdToMicros(actualUsd, 'actualUsd'),
    outcome: 'ok',
    action: parsed.action ?? 'execute',
    flagged: parsed.flagged ?? false,
    reason: parsed.reason ?? null,
    details: client.cleanDetails(options.details),
  }
}

function releaseRequest(client: ClientContext, sessionId: string, holdId: string, options: ReleaseOptions): SettleRequest {
  const parsed = parseOptions(releaseOptionsSchema, options, 'options', RELEASE_PASSTHROUGH)
  const failed = options.error !== undefined
  return {
    tenant: client.tenant,
    sessionId,
    holdId,
    amountMicros: 0,
    outcome: failed ? 'error' : 'ok',
    action: parsed.action ?? (failed ? 'execute' : 'release'),
    flagged: failed,
    // A tool's error message can hold anything; it is stored as every backend keeps it.
    reason: parsed.reason ?? (failed ? normalizeText(errorMessage(options.error).slice(0, 10_000)) : null),
    details: client.cleanDetails(options.details),
  }
}
