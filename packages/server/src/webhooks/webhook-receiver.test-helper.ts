import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What a receiver was sent. */
export interface Received {
  headers: IncomingHttpHeaders
  body: string
  at: number
}

/**
 * A webhook receiver on loopback (node:http): it records every request and answers with the
 * next status of `statuses` (the last one repeats), or never answers while `hang` is set.
 */
export async function webhookReceiver(options: { statuses?: number[] } = {}) {
  const received: Received[] = []
  const statuses = [...(options.statuses ?? [200])]
  const waiting: (() => void)[] = []
  const state = { hang: false }
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() })
      for (const wake of waiting.splice(0)) wake()
      if (state.hang) return
      const status = statuses.length > 1 ? (statuses.shift() as number) : (statuses[0] ?? 200)
      response.writeHead(status, { 'content-type': 'text/plain' }).end(status >= 500 ? 'receiver broke' : 'ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    state,
    /** Later answers (replaces what is left of `statuses`). */
    answer(...next: number[]) {
      statuses.splice(0, statuses.length, ...next)
    },
    /** Resolves once `count` requests have arrived (rejects after `timeoutMs`). */
    async until(count: number, timeoutMs = 10_000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`the receiver got ${received.length} of ${count} requests in ${timeoutMs} ms`)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50)
          waiting.push(() => {
            clearTimeout(timer)
            resolve()
          })
        })
      }
      return received.slice(0, count)
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * Upstream's receiver check (`verify_webhook_signature`, `HALDIR-API.md` §14.3), written from the
 * spec: the header must start with `sha256=`; the timestamp is parsed as a number and refused
 * when more than `toleranceSeconds` from now, either way; one secret or a list (rotation), empty
 * ones ignored and none left an error; HMAC-SHA256 of `"<timestamp>."` + the raw body, compared
 * in constant time. Independent of the server's `signWebhook`, so it checks it.
 */
export function verifyWebhookSignature(
  payload: string | Buffer,
  signatureHeader: string | undefined,
  timestampHeader: string | undefined,
  secret: string | readonly string[],
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const secrets = (typeof secret === 'string' ? [secret] : [...secret]).filter((candidate) => candidate !== '')
  if (secrets.length === 0) throw new Error('at least one non-empty secret is required')
  if (!signatureHeader || !signatureHeader.startsWith('sha256=')) return false
  const timestamp = Number(timestampHeader)
  if (timestampHeader === undefined || timestampHeader.trim() === '' || !Number.isFinite(timestamp)) return false
  const now = options.now ?? Date.now() / 1000
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false
  const given = Buffer.from(signatureHeader.slice('sha256='.length), 'utf8')
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload
  let ok = false
  for (const candidate of secrets) {
    const expected = Buffer.from(createHmac('sha256', Buffer.from(candidate, 'utf8')).update(Buffer.concat([Buffer.from(`${timestampHeader}.`, 'utf8'), bytes])).digest('hex'), 'utf8')
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true
  }
  return ok
}
