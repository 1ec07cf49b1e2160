import { randomUUID } from 'node:crypto'
import { type HaldirBackend, NotFoundError } from '@haldir/core/backend'

export interface ReadinessProbeOptions {
  /** A backend slower than this is not ready. @default 2_000 */
  timeoutMs?: number
  /** How long an answer is reused, so a flood of probes costs the backend one query. @default 1_000 */
  cacheMs?: number
}

/**
 * Whether the backend answers: it is asked for a session that cannot exist, in a tenant of its
 * own, and must say `NotFoundError`. Anything else (a `BackendError`, another error, no answer
 * within `timeoutMs`) is "not ready", with the reason for the log. Concurrent probes share one
 * question; an answer is reused for `cacheMs`.
 */
export function readinessProbe(backend: HaldirBackend, options: ReadinessProbeOptions = {}): () => Promise<{ ready: boolean; error?: unknown }> {
  const timeoutMs = options.timeoutMs ?? 2_000
  const cacheMs = options.cacheMs ?? 1_000
  let current: { at: number; answer: Promise<{ ready: boolean; error?: unknown }> } | undefined

  const ask = async (): Promise<{ ready: boolean; error?: unknown }> => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the ${backend.name} backend did not answer within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([backend.getSession({ tenant: 'haldir-readiness-probe', sessionId: `ses_${randomUUID()}` }), timeout])
      return { ready: true }
    } catch (error) {
      return NotFoundError.isInstance(error) ? { ready: true } : { ready: false, error }
    } finally {
      clearTimeout(timer)
    }
  }

  return () => {
    const now = Date.now()
    if (current === undefined || now - current.at >= cacheMs) current = { at: now, answer: ask() }
    return current.answer
  }
}
