import type { AuditEntry } from '../audit/audit-entry.ts'
import type { SettleRequest } from '../backend/haldir-backend.ts'
import { normalizeText } from '../internal/well-formed-text.ts'
import { parseOptions, releaseOptionsSchema, settleOptionsSchema } from '../schemas.ts'
import { errorMessage } from '../internal/error-message.ts'
import { microsToUsd, usdToMicros } from '../money/usd-to-micros.ts'
import type { Hold, ReleaseOptions, SettleOptions } from '../types.ts'
import type { ClientContext } from './client-context.ts'
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
  // One request literal per path (no spread of shared fields): this runs on every governed call.
  function settleRequest(actualUsd: number, options: SettleOptions): SettleRequest {
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
  function releaseRequest(options: ReleaseOptions): SettleRequest {
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
  async function close(request: SettleRequest): Promise<AuditEntry> {
    return (await client.backend.settle(request)).entry
  }
  const hold: Hold & { [deferred]?: DeferredClose } = {
    id: holdId,
    sessionId,
    amountUsd: microsToUsd(amountMicros),
    settle: (actualUsd, options = {}) => close(settleRequest(actualUsd, options)),
    release: (options = {}) => close(releaseRequest(options)),
  }
  const queue = client.settles
  if (queue) {
    hold[deferred] = {
      settle(actualUsd, options = {}) {
        const request = settleRequest(actualUsd, options)
        queue.push(request, Math.max(0, amountMicros - request.amountMicros))
      },
      release: (options = {}) => queue.push(releaseRequest(options), amountMicros),
    }
  }
  return hold
}
