import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.hold_expired'
const symbol = Symbol.for(marker)

/** The hold's lease ended before it was settled: its reservation was released (and audited), nothing was charged. */
export class HoldExpiredError extends HaldirError {
  private readonly [symbol] = true
  readonly holdId: string
  readonly expiresAt: string | undefined

  constructor({ holdId, expiresAt, message }: { holdId: string; expiresAt?: string; message?: string }) {
    super({
      code: 'hold_expired',
      message: message ?? `Hold ${holdId} expired${expiresAt ? ` at ${expiresAt}` : ''} before it was settled; its reservation was released and nothing was charged`,
      data: { holdId, expiresAt },
    })
    this.name = 'HoldExpiredError'
    this.holdId = holdId
    this.expiresAt = expiresAt
  }

  static override isInstance(error: unknown): error is HoldExpiredError {
    return HaldirError.hasMarker(error, marker)
  }
}
