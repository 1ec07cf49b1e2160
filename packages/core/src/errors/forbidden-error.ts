import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.forbidden'
const symbol = Symbol.for(marker)

/**
 * The caller is who it says, but its API key's role does not allow the operation (an `auditor`
 * key creating a session, an `agent` key storing a secret …). Not a gate refusal: nothing was
 * audited, and retrying with the same key cannot succeed. Over HTTP it is a 403 `forbidden`.
 */
export class ForbiddenError extends HaldirError {
  private readonly [symbol] = true
  /** The role of the key that asked, e.g. `auditor`. */
  readonly role: string | undefined
  /** The operation refused, e.g. `createSession`. */
  readonly operation: string | undefined
  /** The roles that may perform it. */
  readonly allowedRoles: readonly string[]

  constructor({ role, operation, allowedRoles = [], message, cause }: { role?: string; operation?: string; allowedRoles?: readonly string[]; message?: string; cause?: unknown }) {
    super({
      code: 'forbidden',
      message: message ?? `An API key with role '${role ?? '?'}' may not ${operation ?? 'do this'}${allowedRoles.length > 0 ? ` (allowed: ${allowedRoles.join(', ')})` : ''}`,
      cause,
      data: { role, operation, allowedRoles: [...allowedRoles] },
    })
    this.name = 'ForbiddenError'
    this.role = role
    this.operation = operation
    this.allowedRoles = allowedRoles
  }

  static override isInstance(error: unknown): error is ForbiddenError {
    return HaldirError.hasMarker(error, marker)
  }
}
