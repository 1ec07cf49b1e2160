import { BackendError, ForbiddenError, type HaldirBackend, type HaldirEvent, NATIVE_API_PREFIX } from '@haldir/core/backend'
import type { Hono, MiddlewareHandler } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { ApiKeyRole } from './api-key-role.ts'
import type { ServerEnv } from './server-env.ts'

/** Who may listen: people and tools that watch a tenant, not agents (they would see every session's events). */
const LISTENERS: readonly ApiKeyRole[] = ['admin', 'auditor', 'approver']
/** Events waiting for a slow client; past this it is cut off (it reconnects with `Last-Event-ID`). */
const MAX_QUEUED = 1000
const KEEP_ALIVE_MS = 15_000
// The open streams of each app, so a shutdown ends them instead of waiting on them.
const openStreams = new WeakMap<Hono<ServerEnv>, Set<() => void>>()

/** Ends every open event stream of `app` (a graceful shutdown calls it first: a stream never finishes by itself). */
export function closeEventStreams(app: Hono<ServerEnv>): void {
  for (const stop of openStreams.get(app) ?? []) stop()
}

/**
 * `GET /native/v1/events`: the tenant's events as server-sent events (`event:` the type, `id:` the
 * event id, `data:` the event as JSON), for dashboards, approval UIs and `httpBackend`'s
 * `subscribe`. A comment every 15 s keeps proxies from closing an idle stream. A client that
 * does not keep up is cut off rather than buffered without bound; memory per stream stays small.
 */
export function mountEventStream(app: Hono<ServerEnv>, options: { backend: HaldirBackend; guard: MiddlewareHandler<ServerEnv>; path?: string }): void {
  const { backend } = options
  // One set per app, shared by every path the stream is mounted at (the dashboard mounts it again behind its cookie).
  const streams = openStreams.get(app) ?? new Set<() => void>()
  openStreams.set(app, streams)
  app.get(options.path ?? `${NATIVE_API_PREFIX}/v1/events`, options.guard, (c) => {
    const { tenant, role } = c.get('identity')
    if (!LISTENERS.includes(role)) throw new ForbiddenError({ role, operation: 'subscribe', allowedRoles: [...LISTENERS] })
    if (!backend.subscribe) throw new BackendError({ message: `The ${backend.name} backend does not deliver events`, status: 501 })
    const subscribe = backend.subscribe.bind(backend)
    return streamSSE(c, async (stream) => {
      const queue: HaldirEvent[] = []
      let wake: (() => void) | null = null
      let overflowed = false
      let stopped = false
      const stop = () => {
        stopped = true
        wake?.()
      }
      streams.add(stop)
      const unsubscribe = subscribe({ tenant }, (event) => {
        if (queue.length >= MAX_QUEUED) overflowed = true
        else queue.push(event)
        wake?.()
      })
      stream.onAbort(() => wake?.())
      try {
        await stream.writeSSE({ event: 'ready', data: '{}' })
        while (!stream.aborted && !overflowed && !stopped) {
          for (let event = queue.shift(); event; event = queue.shift()) await stream.writeSSE({ id: event.id, event: event.type, data: JSON.stringify(event) })
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, KEEP_ALIVE_MS)
            function done() {
              clearTimeout(timer)
              wake = null
              resolve()
            }
            wake = done
          })
          if (queue.length === 0 && !stream.aborted && !stopped) await stream.write(': keep-alive\n\n')
        }
      } finally {
        unsubscribe()
        streams.delete(stop)
      }
    })
  })
}
