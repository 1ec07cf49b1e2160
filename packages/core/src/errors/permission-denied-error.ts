import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.permission_denied'
const symbol = Symbol.for(marker)

/** The session's scopes do not allow what was asked. */
export class PermissionDeniedError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly scope: string | undefined

  constructor({ sessionId, scope, message, cause }: { sessionId?: string; scope?: string; message?: string; cause?: unknown }) {
    super({
      code: 'permission_denied',
      message: message ?? `Scope '${scope ?? '?'}' is not granted to session ${sessionId ?? '?'}`,
      cause,
      sessionId,
      data: { sessionId, scope },
    })
    this.name = 'PermissionDeniedError'
    this.scope = scope
  }

  static override isInstance(error: unknown): error is PermissionDeniedError {
    return HaldirError.hasMarker(error, marker)
  }
}
