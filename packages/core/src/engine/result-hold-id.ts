import type { AuthorizeResult } from '../backend/haldir-backend.ts'

/** The hold a gate's answer names: the one it opened, or the one holding its cost while it waits for approval. */
export function resultHoldId(result: AuthorizeResult): string | null {
  if (result.allowed) return result.holdId
  return result.code === 'approval_pending' ? result.approval.holdId : null
}
