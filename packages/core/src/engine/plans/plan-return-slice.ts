import type { Draft } from '../draft.ts'
import type { LoadedState } from '../state-store.ts'
import { syncSlice } from '../slices.ts'

/**
 * A closed (revoked) session's slice goes back to its ancestors over the locked chain: what was
 * spent from it becomes theirs, the free rest is theirs to grant again. Calls still holding slice
 * money keep it reserved until they close. Bookkeeping between counters, so no entry: every
 * session's reported money is the same before and after.
 */
export function planReturnSlice(state: LoadedState, _request: { sessionId: string }, draft: Draft<void>): void {
  if (state.sessions.length > 1) syncSlice(state.sessions, draft)
}
