import type { SessionRecord } from '../backend/haldir-backend.ts'

export type LivenessFailure =
  | { code: 'session_revoked'; sessionId: string; revokedSessionId: string; reason: string }
  | { code: 'session_expired'; sessionId: string; expiresAt: number; reason: string }

/**
 * Liveness of a session given its ancestry (`chain[0]` is the session, then its parent, …):
 * refused once the session or any ancestor is revoked or past its expiry.
 */
export function checkLiveness(chain: readonly { record: SessionRecord }[], now: number): LivenessFailure | null {
  const session = chain[0]?.record
  if (!session) throw new Error('checkLiveness needs at least the session itself')
  for (const { record: link } of chain) {
    if (link.revokedAt !== null) {
      const suffix = link.id === session.id ? '' : ` (ancestor ${link.id} was revoked)`
      return { code: 'session_revoked', sessionId: session.id, revokedSessionId: link.id, reason: `session revoked${suffix}` }
    }
  }
  for (const { record: link } of chain) {
    if (now >= link.expiresAt) {
      const suffix = link.id === session.id ? '' : ` (ancestor ${link.id} expired)`
      return { code: 'session_expired', sessionId: session.id, expiresAt: link.expiresAt, reason: `session expired at ${new Date(link.expiresAt).toISOString()}${suffix}` }
    }
  }
  return null
}
