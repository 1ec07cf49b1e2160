import type { Changes, LoadedState, SessionState } from '@haldir/core/backend'
import { advanceSessions, copySession } from './advance-sessions.ts'

/**
 * What the members of a group decided so far, laid over the rows the group loaded. Every load of
 * a group runs before any of its writes, so each member's rows are as they stood before the group;
 * `view` shows a member the rows as the members before it left them, which makes deciding the
 * group in turn the same as running its members one transaction after another.
 */
export class GroupState {
  readonly #sessions = new Map<string, SessionState>()
  readonly #closedHolds = new Set<string>()
  readonly #updatedHolds = new Set<string>()

  /**
   * The member's state after the earlier members; `null` when an earlier member closed or changed
   * the hold it names (the group cannot show it that; it runs on its own after the group).
   */
  view(loaded: LoadedState): LoadedState | null {
    if (loaded.hold && (this.#closedHolds.has(loaded.hold.id) || this.#updatedHolds.has(loaded.hold.id))) return null
    // Copies: the view outlives this step (the snapshot learns from it after the commit), the working rows move on.
    const current = (session: SessionState) => copySession(this.#sessions.get(session.record.id) ?? session)
    const expiredHolds = []
    for (const expired of loaded.expiredHolds) {
      // Released by an earlier member: gone. Changed by one (an approval decided): not knowable here.
      if (this.#closedHolds.has(expired.hold.id)) continue
      if (this.#updatedHolds.has(expired.hold.id)) return null
      expiredHolds.push({ hold: expired.hold, chain: expired.chain.map(current) })
    }
    return { ...loaded, sessions: loaded.sessions.map(current), expiredHolds }
  }

  /** Takes in what a member decided on `view`. */
  apply(view: LoadedState, changes: Changes): void {
    const own = (session: SessionState) => {
      if (!this.#sessions.has(session.record.id)) this.#sessions.set(session.record.id, copySession(session))
    }
    for (const session of view.sessions) own(session)
    for (const expired of view.expiredHolds) for (const session of expired.chain) own(session)
    advanceSessions(this.#sessions, changes)
    for (const closed of changes.closedHolds) this.#closedHolds.add(closed.holdId)
    for (const update of changes.updatedHolds) this.#updatedHolds.add(update.holdId)
  }
}
