import type { AuditEntry } from '../audit/audit-entry.ts'
import type { SettleRequest } from '../backend/haldir-backend.ts'
import { normalizeText } from '../internal/well-formed-text.ts'
import { parseInput, releaseOptionsSchema, settleOptionsSchema } from '../schemas.ts'
import { errorMessage } from '../internal/error-message.ts'
import { microsToUsd, usdToMicros } from '../money/usd-to-micros.ts'
import type { Hold } from '../types.ts'
import type { ClientContext } from './client-context.ts'

/** The client's handle on a hold: settle and release are one backend call, differing only in what they charge and record. */
export function createHold(client: ClientContext, sessionId: string, holdId: string, amountMicros: number): Hold {
  // One request literal per path (no spread of shared fields): this runs on every governed call.
  async function close(request: SettleRequest): Promise<AuditEntry> {
    return (await client.backend.settle(request)).entry
  }
  return {
    id: holdId,
    sessionId,
    amountUsd: microsToUsd(amountMicros),
    settle: (actualUsd, options = {}) => {
      const parsed = parseInput(settleOptionsSchema, options, 'options')
      return close({
        tenant: client.tenant,
        sessionId,
        holdId,
        amountMicros: usdToMicros(actualUsd, 'actualUsd'),
        outcome: 'ok',
        action: parsed.action ?? 'execute',
        flagged: parsed.flagged ?? false,
        reason: parsed.reason ?? null,
        details: client.cleanDetails(options.details),
      })
    },
    release(options = {}) {
      const parsed = parseInput(releaseOptionsSchema, options, 'options')
      const failed = options.error !== undefined
      return close({
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
      })
    },
  }
}
