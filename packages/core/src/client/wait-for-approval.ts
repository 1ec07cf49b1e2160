import type { HaldirEvent } from '../events/haldir-event.ts'
import type { Approval, Haldir, WaitForApprovalOptions } from '../types.ts'

const FIRST_LOOK_MS = 50

/**
 * Waits for a decision: looks at the approval, then sleeps until the next look (backing off to
 * `pollInterval`, never past the approval's own deadline, when the timeout decides) or until the
 * backend reports that very approval decided, whichever comes first. Each look reads through the
 * backend, so a deadline that passed is decided by the timeout there, not guessed here.
 */
export async function waitForApproval(haldir: Pick<Haldir, 'getApproval' | 'on'>, approvalId: string, options: WaitForApprovalOptions = {}): Promise<Approval> {
  const { signal } = options
  const pollMs = Math.round((options.pollInterval ?? 0.5) * 1000)
  const giveUpAt = options.timeout === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeout * 1000
  signal?.throwIfAborted()
  let wake: (() => void) | null = null
  let unsubscribe: () => void = () => {}
  try {
    unsubscribe = haldir.on('approval.decided', (event: HaldirEvent) => {
      if (event.data.approvalId === approvalId) wake?.()
    })
  } catch {
    // A backend without events is looked at on a schedule instead.
  }
  try {
    let delay = FIRST_LOOK_MS
    for (;;) {
      const approval = await haldir.getApproval(approvalId)
      if (approval.status !== 'pending') return approval
      const left = giveUpAt - Date.now()
      if (left <= 0) return approval
      // Just past the deadline, the next look finds it decided by the timeout.
      const untilDeadline = Date.parse(approval.expiresAt) - Date.now() + 5
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(done, Math.max(1, Math.min(delay, left, untilDeadline)))
        const aborted = () => {
          clearTimeout(timer)
          reject(signal?.reason)
        }
        function done() {
          signal?.removeEventListener('abort', aborted)
          wake = null
          clearTimeout(timer)
          resolve()
        }
        wake = done
        signal?.addEventListener('abort', aborted, { once: true })
      })
      delay = Math.min(pollMs, delay * 2)
    }
  } finally {
    unsubscribe()
  }
}
