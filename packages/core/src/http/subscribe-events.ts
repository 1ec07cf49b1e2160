import { EventSourceParserStream } from 'eventsource-parser/stream'
import type { HaldirEvent } from '../events/haldir-event.ts'
import { NATIVE_API_PREFIX } from './http-routes.ts'

const MAX_BACKOFF_MS = 30_000

/**
 * Listens to a Haldir server's event stream (`GET /native/v1/events`, server-sent events) and hands
 * each event to `listener`, reconnecting with backoff (and `Last-Event-ID`, so nothing is
 * heard twice) until unsubscribed. A key whose role may not listen (an agent's) gets nothing:
 * the stream is refused and not retried, and a caller such as `waitForApproval` goes on polling.
 */
export function subscribeEvents(options: { origin: string; apiKey: string; fetch: typeof fetch; onRefused?: (status: number) => void }, listener: (event: HaldirEvent) => void): () => void {
  const controller = new AbortController()
  let lastEventId: string | undefined
  const seen = new Set<string>()
  void (async () => {
    for (let attempt = 0; !controller.signal.aborted; attempt++) {
      try {
        const response = await options.fetch(`${options.origin}${NATIVE_API_PREFIX}/v1/events`, {
          headers: { authorization: `Bearer ${options.apiKey}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
          signal: controller.signal,
        })
        if (!response.ok || !response.body) {
          // Read to the end: an unread answer keeps its connection busy (and a server waiting on it at shutdown).
          await response.body?.cancel().catch(() => {})
          if (response.status === 401 || response.status === 403 || response.status === 404 || response.status === 501) {
            options.onRefused?.(response.status)
            return
          }
          throw new Error(`event stream answered ${response.status}`)
        }
        attempt = 0
        const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream())
        for await (const message of events) {
          // `ready` (and any other non-event message) only says the stream is open.
          if (!message.data || message.event === 'ready' || message.id === undefined) continue
          const event = JSON.parse(message.data) as HaldirEvent
          lastEventId = event.id
          // A reconnect may replay the last few: each is heard once.
          if (seen.has(event.id)) continue
          seen.add(event.id)
          if (seen.size > 10_000) seen.delete(seen.values().next().value as string)
          listener(event)
        }
      } catch {
        if (controller.signal.aborted) return
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_BACKOFF_MS, 100 * 2 ** attempt)))
    }
  })()
  return () => controller.abort()
}
