import type { Session } from '@haldir/core'

/** Whether a session itself is neither revoked nor expired (the gate also checks its ancestors). */
export function isLive(session: Pick<Session, 'revokedAt' | 'expiresAt'>, now = Date.now()): boolean {
  return session.revokedAt === null && Date.parse(session.expiresAt) > now
}
