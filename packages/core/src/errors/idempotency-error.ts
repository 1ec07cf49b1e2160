import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.idempotency'
const symbol = Symbol.for(marker)

/**
 * An idempotency key that cannot give the answer asked of it. Nothing was charged or run.
 *
 * - `idempotency_conflict`: the key was first used for another request (another session, mode,
 *   scope, tool, action or amount).
 * - `idempotency_replayed`: the key's call already ran and its hold is closed; running it again
 *   would be a second execution under one key.
 */
export class IdempotencyError extends HaldirError {
  private readonly [symbol] = true
  readonly idempotencyKey: string

  constructor({ code, idempotencyKey, message, data }: { code: 'idempotency_conflict' | 'idempotency_replayed'; idempotencyKey: string; message?: string; data?: Record<string, unknown> }) {
    super({
      code,
      message:
        message ??
        (code === 'idempotency_conflict'
          ? `Idempotency key '${idempotencyKey}' was first used for a different request; use a fresh key or repeat the first request exactly`
          : `Idempotency key '${idempotencyKey}' belongs to a call that already ran; it is not run again`),
      data: { ...data, idempotencyKey },
    })
    this.name = 'IdempotencyError'
    this.idempotencyKey = idempotencyKey
  }

  static override isInstance(error: unknown): error is IdempotencyError {
    return HaldirError.hasMarker(error, marker)
  }
}
