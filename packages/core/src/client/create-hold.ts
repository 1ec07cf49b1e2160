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
  return new ClientHold(client, sessionId, holdId, amountMicros)
}

/**
 * One object per hold, made on every governed call: its `settle` and `release` are made when
 * read (a governed call closes through the queue and never reads them), each a function that
 * works detached, as they always have.
 */
class ClientHold implements Hold, DeferredClose {
  readonly id: string
  readonly sessionId: string
  readonly amountUsd: number
  readonly #client: ClientContext
  readonly #amountMicros: number

  constructor(client: ClientContext, sessionId: string, holdId: string, amountMicros: number) {
    this.id = holdId
    this.sessionId = sessionId
    this.amountUsd = microsToUsd(amountMicros)
    this.#client = client
    this.#amountMicros = amountMicros
  }

  get settle(): Hold['settle'] {
    return (actualUsd, options = {}) => close(this.#client, settleRequest(this.#client, this.sessionId, this.id, actualUsd, options))
  }

  get release(): Hold['release'] {
    return (options = {}) => close(this.#client, releaseRequest(this.#client, this.sessionId, this.id, options))
  }

  /** Its queued close, when its client defers settles. */
  get [deferred](): DeferredClose | undefined {
    return this.#client.settles === null ? undefined : this
  }

  settleLater(actualUsd: number, options: SettleOptions = {}): void {
    const request = settleRequest(this.#client, this.sessionId, this.id, actualUsd, options)
    ;(this.#client.settles as SettleQueue).push(request, Math.max(0, this.#amountMicros - request.amountMicros))
  }

  settleTimed(actualUsd: number, durationMs: number): void {
    const client = this.#client
    const amountMicros = usdToMicros(actualUsd, 'actualUsd')
    const request = closeRequest(client, this.sessionId, this.id, amountMicros, 'ok', 'execute', false, null, client.timedDetails(durationMs))
    ;(client.settles as SettleQueue).push(request, Math.max(0, this.#amountMicros - amountMicros))
  }

  releaseLater(options: ReleaseOptions = {}): void {
    ;(this.#client.settles as SettleQueue).push(releaseRequest(this.#client, this.sessionId, this.id, options), this.#amountMicros)
  }
}

async function close(client: ClientContext, request: SettleRequest): Promise<AuditEntry> {
  return (await client.backend.settle(request)).entry
}

function settleRequest(client: ClientContext, sessionId: string, holdId: string, actualUsd: number, options: SettleOptions): SettleRequest {
  const parsed = parseOptions(settleOptionsSchema, options, 'options', SETTLE_PASSTHROUGH)
  const amountMicros = usdToMicros(actualUsd, 'actualUsd')
  return closeRequest(client, sessionId, holdId, amountMicros, 'ok', parsed.action ?? 'execute', parsed.flagged ?? false, parsed.reason ?? null, client.cleanDetails(options.details))
}

function releaseRequest(client: ClientContext, sessionId: string, holdId: string, options: ReleaseOptions): SettleRequest {
  const parsed = parseOptions(releaseOptionsSchema, options, 'options', RELEASE_PASSTHROUGH)
  const failed = options.error !== undefined
  // A tool's error message can hold anything; it is stored as every backend keeps it.
  const reason = parsed.reason ?? (failed ? normalizeText(errorMessage(options.error).slice(0, 10_000)) : null)
  return closeRequest(client, sessionId, holdId, 0, failed ? 'error' : 'ok', parsed.action ?? (failed ? 'execute' : 'release'), failed, reason, client.cleanDetails(options.details))
}

/** A settle or release request: one literal for every way a hold closes (one object shape in the settle queue). */
function closeRequest(
  client: ClientContext,
  sessionId: string,
  holdId: string,
  amountMicros: number,
  outcome: SettleRequest['outcome'],
  action: string,
  flagged: boolean,
  reason: string | null,
  details: Record<string, unknown>,
): SettleRequest {
  return { tenant: client.tenant, sessionId, holdId, amountMicros, outcome, action, flagged, reason, details }
}
