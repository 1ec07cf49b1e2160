import type { HaldirEvent } from '../events/haldir-event.ts'
import type { Haldir, Session } from '../types.ts'

/**
 * Listens to every event of `haldir`'s tenant and resolves once the subscription is live: a
 * remote one (the HTTP backend's event stream) opens in the background, so a probe session is
 * revoked, then charged, until its events arrive. Call `stop()` when done.
 */
export async function listenToEvents(haldir: Haldir, probe: Session): Promise<{ heard: HaldirEvent[]; stop: () => void }> {
  const heard: HaldirEvent[] = []
  const stop = haldir.on('*', (event) => heard.push(event))
  try {
    await haldir.revokeSession(probe.id)
    for (let attempt = 0; attempt < 200 && !heard.some((event) => event.sessionId === probe.id); attempt++) {
      await haldir.authorizePayment(probe.id, 0.01).catch(() => {})
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  } catch (error) {
    stop()
    throw error
  }
  return { heard, stop }
}
