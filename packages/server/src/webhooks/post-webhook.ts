import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import type { WebhookTarget } from './webhook-target.ts'

/** What one attempt came to: the receiver's status (0: none), the start of its answer, the error. */
export interface PostOutcome {
  statusCode: number
  responseExcerpt: string
  error: string
  durationMs: number
}

/** Upstream logs at most this much of a receiver's answer (`HALDIR-API.md` §14.1); more is not read. */
const EXCERPT_CHARS = 512

/**
 * POSTs one body to a checked target. It connects to the address that was checked (the `lookup`
 * answers with it; TLS still verifies the certificate for the URL's host), follows no redirect
 * (a 3xx is an answer like any other, so a receiver cannot bounce the request to a private
 * address), and gives up after `timeoutMs` for the whole exchange. Never throws.
 */
export function postWebhook(target: WebhookTarget, init: { headers: Record<string, string>; body: string; timeoutMs: number; signal?: AbortSignal }): Promise<PostOutcome> {
  const started = performance.now()
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) (callback as (error: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }])
    else callback(null, target.address, target.family)
  }
  return new Promise((resolve) => {
    let settled = false
    const finish = (statusCode: number, responseExcerpt: string, error: string) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      // The signal outlives this attempt (one per sender): leave no listener behind.
      init.signal?.removeEventListener('abort', abort)
      resolve({ statusCode, responseExcerpt, error, durationMs: Math.round(performance.now() - started) })
    }
    const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest
    const request = send(target.url, {
      method: 'POST',
      headers: { ...init.headers, 'Content-Length': String(Buffer.byteLength(init.body)) },
      lookup: pinned,
      // One connection per attempt: a pooled socket could have been opened to an earlier address.
      agent: false,
    })
    const timer = setTimeout(() => {
      request.destroy()
      finish(0, '', `timed out after ${init.timeoutMs} ms`)
    }, init.timeoutMs)
    request.on('error', (error) => finish(0, '', error.message.slice(0, 200)))
    // A stopping server ends its attempts at once; they are retried from the outbox.
    function abort() {
      request.destroy()
      finish(0, '', 'the server stopped during the attempt')
    }
    if (init.signal?.aborted) abort()
    else init.signal?.addEventListener('abort', abort, { once: true })
    request.on('response', (response) => {
      let excerpt = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        excerpt += chunk
        // Enough read: the rest of a large (or endless) answer is not waited for.
        if (excerpt.length >= EXCERPT_CHARS) {
          finish(response.statusCode ?? 0, excerpt.slice(0, EXCERPT_CHARS), '')
          request.destroy()
        }
      })
      response.on('end', () => finish(response.statusCode ?? 0, excerpt, ''))
      response.on('error', (error) => finish(response.statusCode ?? 0, excerpt.slice(0, EXCERPT_CHARS), error.message.slice(0, 200)))
      // A receiver that answers and then cuts the connection still answered.
      response.on('close', () => finish(response.statusCode ?? 0, excerpt.slice(0, EXCERPT_CHARS), ''))
    })
    request.end(init.body)
  })
}
