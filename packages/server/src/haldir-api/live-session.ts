import { type HaldirBackend, NotFoundError } from '@haldir/core'
import { idSchema, type SessionRecord } from '@haldir/core/backend'

/**
 * The session if it is valid as upstream means it: it exists in the tenant, and neither it nor
 * an ancestor is revoked or expired. `null` otherwise: upstream makes an invalid session look
 * exactly like a missing one. A read, not a decision: what spends or reads a secret is decided
 * again, atomically, by the engine.
 */
export async function liveSession(backend: HaldirBackend, tenant: string, sessionId: string, now = Date.now()): Promise<SessionRecord | null> {
  let record: SessionRecord | null = await found(backend, tenant, sessionId)
  const session = record
  for (let depth = 0; record !== null && depth < 64; depth++) {
    if (record.revokedAt !== null || now >= record.expiresAt) return null
    if (record.parentId === null) return session
    record = await found(backend, tenant, record.parentId)
  }
  return null
}

async function found(backend: HaldirBackend, tenant: string, sessionId: string): Promise<SessionRecord | null> {
  // An id no session can have (empty, too long, NUL …) is as missing as any other.
  if (!idSchema.safeParse(sessionId).success) return null
  try {
    return await backend.getSession({ tenant, sessionId })
  } catch (error) {
    if (NotFoundError.isInstance(error)) return null
    throw error
  }
}
