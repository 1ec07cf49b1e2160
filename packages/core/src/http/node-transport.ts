import { Agent as HttpAgent, type ClientRequest, request as httpRequest } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import type { HttpTransport } from './http-transport.ts'

type TransportRequest = Parameters<HttpTransport>[0]
type TransportResponse = Awaited<ReturnType<HttpTransport>>

/**
 * The default transport on Node: `node:http(s)` over keep-alive agents. On loopback it takes
 * about a third of the time of the global `fetch` per round trip, and a governed call makes two.
 * Node only: other runtimes get `fetchTransport` (`#default-transport` picks, see package.json).
 *
 * A pooled keep-alive socket can be closed by the server just as a request is written on it
 * (its idle timeout, or a server that closed after refusing an upload). Such a request fails
 * with ECONNRESET/EPIPE on a reused socket before a single byte of answer came back: the server
 * closed the connection instead of reading it, so it is sent once more on a fresh socket, even
 * when it is not idempotent. Any other failure, and any failure after an answer began, is
 * returned to the caller, which decides whether the operation is safe to repeat.
 */
export function nodeTransport(): HttpTransport {
  const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 256 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 256 }) }
  return async (request) => {
    try {
      return await exchange(request, request.url.startsWith('https:') ? agents.https : agents.http)
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error
      // `agent: false`: a connection of its own, which cannot be another stale pooled socket.
      return exchange(request, false)
    }
  }
}

/** The request went out on a reused socket that the server had already closed. */
class StaleSocketError extends Error {
  constructor(cause: Error) {
    super(cause.message, { cause })
    this.name = 'StaleSocketError'
  }
}

function exchange({ method, url, headers, body, timeoutMs }: TransportRequest, agent: HttpAgent | false): Promise<TransportResponse> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest
    const outgoing: ClientRequest = send(url, { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent }, (incoming) => {
      const chunks: Buffer[] = []
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk))
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
      incoming.on('error', reject)
    })
    // A reused socket has read earlier answers: count only what arrives for this request.
    let socket: Socket | undefined
    let bytesBefore = 0
    outgoing.once('socket', (assigned) => {
      socket = assigned
      bytesBefore = assigned.bytesRead
    })
    let timedOut = false
    outgoing.setTimeout(timeoutMs, () => {
      timedOut = true
      outgoing.destroy(new Error(`timed out after ${timeoutMs} ms`))
    })
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const nothingAnswered = socket !== undefined && socket.bytesRead === bytesBefore
      const closedUnderUs = error.code === 'ECONNRESET' || error.code === 'EPIPE'
      reject(outgoing.reusedSocket && nothingAnswered && closedUnderUs && !timedOut ? new StaleSocketError(error) : error)
    })
    outgoing.end(body)
  })
}
