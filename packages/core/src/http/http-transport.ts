import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

/** One request/response exchange, reduced to what the backend needs. */
export type HttpTransport = (request: { method: string; url: string; headers: Record<string, string>; body: string | undefined; timeoutMs: number }) => Promise<{
  status: number
  text: string
}>

/** A transport over a `fetch` of the caller's choosing. */
export function fetchTransport(doFetch: typeof fetch): HttpTransport {
  return async ({ method, url, headers, body, timeoutMs }) => {
    const response = await doFetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) })
    return { status: response.status, text: await response.text() }
  }
}

/**
 * The default transport: `node:http(s)` over keep-alive agents. On loopback it takes about a
 * third of the time of the global `fetch` per round trip, and a governed call makes two.
 */
export function nodeTransport(): HttpTransport {
  const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 256 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }) }
  return ({ method, url, headers, body, timeoutMs }) =>
    new Promise((resolve, reject) => {
      const secure = url.startsWith('https:')
      const send = secure ? httpsRequest : httpRequest
      const outgoing = send(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: secure ? agents.https : agents.http }, (incoming) => {
        const chunks: Buffer[] = []
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        incoming.on('error', reject)
      })
      outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error(`timed out after ${timeoutMs} ms`)))
      outgoing.on('error', reject)
      outgoing.end(body)
    })
}
