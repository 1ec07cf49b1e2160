import { NotFoundError } from '../../errors/not-found-error.ts'
import type { SessionState } from '../state-store.ts'

/** The loaded session the operation is about (the first of the loaded sessions), or `NotFoundError`. */
export function requireSession(sessions: readonly SessionState[], sessionId: string): SessionState {
  const session = sessions[0]
  if (!session || session.record.id !== sessionId) throw new NotFoundError({ resource: 'session', id: sessionId })
  return session
}
