import { useEffect, useState } from 'preact/hooks'

export interface LiveState {
  /** Grows on every event (and every few seconds), so views that depend on it reload. */
  tick: number
  connected: boolean
  /** The newest events, newest first, for the activity strip. */
  recent: { type: string; at: string }[]
}

/**
 * Live updates: the tenant's server-sent events (approvals, denials, thresholds, revocations …)
 * reload the visible view at once; a slow timer picks up ordinary new entries, which are not
 * events. Bursts are coalesced so a busy crew does not reload the page per call.
 */
export function useLiveTick(enabled: boolean): LiveState {
  const [state, setState] = useState<LiveState>({ tick: 0, connected: false, recent: [] })
  useEffect(() => {
    if (!enabled) return
    let timer: ReturnType<typeof setTimeout> | undefined
    const bump = (type?: string) => {
      if (type) setState((previous) => ({ ...previous, recent: [{ type, at: new Date().toISOString() }, ...previous.recent].slice(0, 5) }))
      if (timer) return
      timer = setTimeout(() => {
        timer = undefined
        setState((previous) => ({ ...previous, tick: previous.tick + 1 }))
      }, 250)
    }
    const source = new EventSource('/dashboard/api/events')
    source.addEventListener('ready', () => setState((previous) => ({ ...previous, connected: true })))
    source.addEventListener('error', () => setState((previous) => ({ ...previous, connected: false })))
    for (const type of ['approval.requested', 'approval.decided', 'call.denied', 'hold.expired', 'session.revoked', 'threshold.crossed', 'budget.exhausted', 'rate.limited', 'audit.broken']) {
      source.addEventListener(type, () => bump(type))
    }
    // Ten seconds: each reload searches the tenant on the server, so a tab left open stays cheap.
    const interval = setInterval(() => bump(), 10_000)
    return () => {
      source.close()
      clearInterval(interval)
      if (timer) clearTimeout(timer)
    }
  }, [enabled])
  return state
}
