import { type Haldir, ValidationError } from '@haldir/core'
import { isLive } from '../internal/is-live.ts'
import type { BoundSessionConfig } from './proxy-config.ts'

/**
 * The session a connection is governed as: an existing one (checked to exist in this tenant
 * and be live, so a wrong id fails at connect time rather than on the first call), or a new
 * one created for the connection.
 *
 * @throws NotFoundError for an id this tenant does not have; ValidationError for a dead session
 */
export async function openSession(haldir: Haldir, source: BoundSessionConfig): Promise<string> {
  if (source.create) return (await haldir.createSession(source.create)).id
  const sessionId = source.id as string
  const session = await haldir.getSession(sessionId)
  if (!isLive(session)) throw new ValidationError({ issues: [{ path: 'session.id', message: `session ${sessionId} is revoked or expired` }] })
  return sessionId
}
