import type { Context } from 'hono'
import { HttpRefusal } from './http-refusal.ts'
import type { ServerEnv } from './server-env.ts'

export interface ReadBodyOptions {
  /** Largest accepted body, in bytes. */
  maxBytes: number
  /** How long the whole body may take to arrive, from the first read. */
  timeoutMs: number
}

/**
 * Reads the request body, refusing one over `maxBytes` (413, by its `Content-Length` before
 * reading, or as it streams) and one slower than `timeoutMs` (408, and the connection is closed:
 * a client that trickles bytes cannot hold a handler). Records in the context how far it read,
 * so `finishRequestBody` can drain the rest or close the connection.
 */
export async function readBody(c: Context<ServerEnv>, { maxBytes, timeoutMs }: ReadBodyOptions): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpRefusal({ status: 413, code: 'payload_too_large', message: `Request body over ${maxBytes} bytes`, data: { maxBytes } })
  const declared = Number(c.req.header('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge()
  const stream = c.req.raw.body
  if (stream === null) {
    c.set('bodyState', 'complete')
    return new Uint8Array(0)
  }
  const reader = stream.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs)
  })
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline])
      if (next === 'timeout') {
        c.set('bodyState', 'timed-out')
        throw new HttpRefusal({
          status: 408,
          code: 'request_timeout',
          message: `Request body not received within ${timeoutMs} ms`,
          data: { timeoutMs },
          headers: { Connection: 'close' },
        })
      }
      if (next.done) break
      size += next.value.byteLength
      c.set('bodyBytesRead', size)
      if (size > maxBytes) {
        c.set('bodyState', 'partial')
        throw tooLarge()
      }
      chunks.push(next.value)
    }
  } finally {
    clearTimeout(timer)
    // A pending read (after a timeout) keeps the lock; otherwise hand the stream back for draining.
    if (c.get('bodyState') !== 'timed-out') reader.releaseLock()
  }
  c.set('bodyState', 'complete')
  return Buffer.concat(chunks, size)
}
