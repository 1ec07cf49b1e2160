import { applySliceChange, type Changes, type SessionState } from '@haldir/core/backend'

/**
 * Moves each session of `after` to where `changes` leave it: counters moved, audit head advanced,
 * revoked, usage replaced; sessions the changes create are added. The map's values must be the
 * caller's own copies (they are changed in place). Used wherever this process follows its own
 * writes without reading them back: the one-round-trip snapshot and the members of a group.
 */
export function advanceSessions(after: Map<string, SessionState>, changes: Changes): void {
  for (const created of changes.createdSessions) after.set(created.record.id, copySession(created))
  for (const change of changes.counters) {
    const session = after.get(change.sessionId)
    if (!session) continue
    session.spentMicros += change.spentMicros
    session.reservedMicros += change.reservedMicros
    if (change.slice !== undefined) {
      // A copy: the remembered slice may be shared with states already handed out.
      const slice = session.slice ? { ...session.slice, byTool: { ...session.slice.byTool } } : { freeMicros: 0, spentMicros: 0, byTool: {}, heldMicros: 0 }
      applySliceChange(slice, change)
      session.slice = slice.freeMicros === 0 && slice.spentMicros === 0 && slice.heldMicros === 0 ? null : slice
    }
  }
  for (const entry of changes.entries) {
    const session = after.get(entry.sessionId)
    if (session) session.head = { seq: entry.seq, hash: entry.hash }
  }
  for (const revocation of changes.revocations) {
    const session = after.get(revocation.sessionId)
    if (session) session.record = { ...session.record, revokedAt: revocation.revokedAt }
  }
  for (const change of changes.usage) {
    const session = after.get(change.sessionId)
    if (session) session.usage = change.usage
  }
}

/** A copy `advanceSessions` may change without touching the original. */
export function copySession(session: SessionState): SessionState {
  return { ...session, head: { ...session.head }, record: { ...session.record } }
}
