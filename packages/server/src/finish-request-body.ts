import type { MiddlewareHandler } from 'hono'
import type { ServerEnv } from './server-env.ts'

export interface FinishRequestBodyOptions {
  /** Most bytes of an unread body drained to keep the connection. @default 4 MiB */
  drainBytes?: number
  /** Most time spent draining. @default 2_000 */
  drainTimeoutMs?: number
}

/**
 * Keeps keep-alive connections honest when a request is answered before its body was read (a
 * 413, a 401 or 429 on a POST, an unknown route). HTTP/1.1 has the rest of the body next on the
 * wire: the server either reads and discards it, up to `drainBytes` within `drainTimeoutMs`, so
 * the connection serves the client's next request, or answers with `Connection: close`, so the
 * client opens a new one instead of writing on a socket about to be closed under it.
 */
export function finishRequestBody(options: FinishRequestBodyOptions = {}): MiddlewareHandler<ServerEnv> {
  const drainBytes = options.drainBytes ?? 4 * 1024 * 1024
  const drainTimeoutMs = options.drainTimeoutMs ?? 2_000
  return async (c, next) => {
    await next()
    const stream = c.req.raw.body
    const state = c.get('bodyState')
    if (stream === null || state === 'complete') return
    const read = c.get('bodyBytesRead') ?? 0
    const declared = Number(c.req.header('content-length'))
    const fits = !Number.isFinite(declared) || declared - read <= drainBytes
    if (state === 'timed-out' || stream.locked || !fits || !(await drain(stream, drainBytes, drainTimeoutMs))) {
      c.res.headers.set('Connection', 'close')
    }
  }
}

/** Reads and discards the rest of `stream`; `true` if it ended within the byte and time budget. */
async function drain(stream: ReadableStream<Uint8Array>, maxBytes: number, timeoutMs: number): Promise<boolean> {
  const reader = stream.getReader()
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  let drained = 0
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline])
      if (next === 'timeout') return false
      if (next.done) return true
      drained += next.value.byteLength
      if (drained > maxBytes) return false
    }
  } catch {
    return false
  } finally {
    // No cancel: cancelling would destroy the socket before the answer is written. A connection
    // that was not drained is closed after the answer (`Connection: close`).
    clearTimeout(timer)
  }
}
