import type { SessionRecord } from '../backend/haldir-backend.ts'
import { PermissionDeniedError } from '../errors/permission-denied-error.ts'
import { SessionExpiredError } from '../errors/session-expired-error.ts'
import { SessionRevokedError } from '../errors/session-revoked-error.ts'
import { checkLiveness } from './check-liveness.ts'
import { scopeCovers } from './scope-covers.ts'

/**
 * Attenuation for a child session: its scopes must be covered by the parent's, it cannot be
 * created under a dead parent, and its expiry is clamped to the parent's (a child never outlives it).
 * Returns the child's effective expiry.
 */
export function planChildSession(options: {
  parentChain: readonly { record: SessionRecord }[]
  scopes: readonly string[]
  expiresAt: number
  now: number
}): { expiresAt: number } {
  const { parentChain, scopes, expiresAt, now } = options
  const parent = parentChain[0]?.record
  if (!parent) throw new Error('planChildSession needs the parent chain')
  const dead = checkLiveness(parentChain, now)
  if (dead?.code === 'session_revoked') {
    throw new SessionRevokedError({ sessionId: parent.id, revokedSessionId: dead.revokedSessionId, message: `Cannot create a child of revoked session ${parent.id}` })
  }
  if (dead?.code === 'session_expired') {
    throw new SessionExpiredError({ sessionId: parent.id, expiresAt: new Date(dead.expiresAt).toISOString(), message: `Cannot create a child of expired session ${parent.id}` })
  }
  for (const scope of scopes) {
    if (!parent.scopes.some((granted) => scopeCovers(granted, scope))) {
      throw new PermissionDeniedError({
        sessionId: parent.id,
        scope,
        message: `A child session cannot gain scope '${scope}': parent ${parent.id} grants only [${parent.scopes.join(', ')}]`,
      })
    }
  }
  return { expiresAt: Math.min(expiresAt, parent.expiresAt) }
}
