import { errorMessage } from '@haldir/core/backend'

export interface FailureLog {
  /** A backend (or rate-limit store) failure: the first of a burst is logged, the rest counted. */
  backend(error: unknown, requestId?: string): void
  /** A bug: the first of a burst is logged with its stack, the rest counted. */
  unexpected(error: unknown, requestId?: string): void
}

/**
 * Logs failures once per burst instead of once per request: a server whose database is down
 * answers every request with a 503, and a stack trace per request would bury the one line that
 * says why. The first failure of a burst is logged with its causes; the next ones within
 * `windowMs` are counted and summed up in one line when the window ends.
 */
export function failureLog({ log, windowMs = 30_000 }: { log: (message: string, error?: unknown) => void; windowMs?: number }): FailureLog {
  const burst = (kind: string, withStack: boolean) => {
    let suppressed = 0
    let last: unknown
    let timer: NodeJS.Timeout | undefined
    return (error: unknown, requestId?: string) => {
      if (timer !== undefined) {
        suppressed++
        last = error
        return
      }
      const where = requestId ? ` (request ${requestId})` : ''
      const first = `haldir server: ${kind}${where}: ${describe(error)}; more in the next ${Math.round(windowMs / 1000)} s are counted, not logged`
      if (withStack) log(first, error)
      else log(first)
      timer = setTimeout(() => {
        if (suppressed > 0) log(`haldir server: ${suppressed} more ${kind}s in ${Math.round(windowMs / 1000)} s (last: ${describe(last)})`)
        suppressed = 0
        timer = undefined
      }, windowMs)
      // A pending summary must not keep a stopping process alive.
      timer.unref()
    }
  }
  return { backend: burst('backend failure', false), unexpected: burst('unexpected error', true) }
}

/** The message and the messages of its causes, without stacks. */
function describe(error: unknown): string {
  const parts: string[] = []
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const text = errorMessage(current)
    if (!parts.includes(text)) parts.push(text)
    current = current instanceof Error ? current.cause : undefined
  }
  return parts.join(' ← ')
}
