import { HaldirError, type HaldirErrorCode } from './haldir-error.ts'

const marker = 'haldir.error.backend'
const symbol = Symbol.for(marker)

/** The backend could not be reached or failed (network, database, a server error, bad credentials). */
export class BackendError extends HaldirError {
  private readonly [symbol] = true
  readonly status: number | undefined

  constructor({ message, cause, status, code = 'backend_error' }: { message: string; cause?: unknown; status?: number; code?: HaldirErrorCode }) {
    super({ code, message, cause, data: { status } })
    this.name = 'BackendError'
    this.status = status
  }

  static override isInstance(error: unknown): error is BackendError {
    return HaldirError.hasMarker(error, marker)
  }
}
