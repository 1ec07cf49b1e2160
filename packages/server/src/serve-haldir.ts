import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { ValidationError } from '@haldir/core'
import { serve } from '@hono/node-server'
import { closeEventStreams } from './event-stream.ts'
import { closeHaldirServer, createHaldirServer, type HaldirServerOptions } from './create-haldir-server.ts'
import { failureLog } from './failure-log.ts'
import { scheduleTreeHeads } from './tree-head-schedule.ts'

export interface ServeHaldirOptions extends HaldirServerOptions {
  /** 0 picks a free port. @default 8787 */
  port?: number
  /** @default '127.0.0.1' */
  hostname?: string
  /** How long `close()` waits for in-flight requests before cutting connections. @default 10_000 */
  shutdownTimeoutMs?: number
  /** How long a client may take to send its request headers; then 408 and the connection closes. @default 10_000 */
  headersTimeoutMs?: number
  /** How long a client may take to send a whole request (headers and body); then 408 and close. @default 30_000 */
  requestTimeoutMs?: number
  /** How long an idle keep-alive connection is kept open. @default 5_000 */
  keepAliveTimeoutMs?: number
  /**
   * How often a tree head is signed and recorded for every tenant with new audit entries
   * (`backend.publishTreeHeads`), or `false` for never (heads are then signed only when asked
   * for). @default 60_000
   */
  publishTreeHeadsEveryMs?: number | false
}

export interface RunningHaldirServer {
  /** `http://host:port` */
  url: string
  port: number
  server: Server
  /**
   * Graceful shutdown: stops accepting connections, lets in-flight requests finish, closes idle
   * keep-alive connections, stops the tree-head schedule, closes the MCP proxy's upstream
   * connections, then closes the backend.
   */
  close(): Promise<void>
}

/**
 * Starts the Haldir API on `@hono/node-server` and resolves once it listens, with the schedule
 * that signs tree heads (`publishTreeHeadsEveryMs`). Node's own limits
 * apply before a request reaches the app: slow headers (slowloris) and slow requests are cut
 * with a 408 (`headersTimeoutMs`, `requestTimeoutMs`), idle connections closed
 * (`keepAliveTimeoutMs`); the app then bounds how long a body may take (`bodyTimeoutMs`).
 */
export async function serveHaldir(options: ServeHaldirOptions): Promise<RunningHaldirServer> {
  const headersTimeout = milliseconds(options.headersTimeoutMs, 10_000, 'headersTimeoutMs')
  const requestTimeout = milliseconds(options.requestTimeoutMs, 30_000, 'requestTimeoutMs')
  const keepAliveTimeout = milliseconds(options.keepAliveTimeoutMs, 5_000, 'keepAliveTimeoutMs')
  if (headersTimeout > requestTimeout) {
    throw new ValidationError({ issues: [{ path: 'headersTimeoutMs', message: `must not exceed requestTimeoutMs (${requestTimeout})` }] })
  }
  const publishEveryMs = options.publishTreeHeadsEveryMs === false ? false : milliseconds(options.publishTreeHeadsEveryMs, 60_000, 'publishTreeHeadsEveryMs')
  const app = createHaldirServer(options)
  const hostname = options.hostname ?? '127.0.0.1'
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve(
      {
        fetch: app.fetch,
        port: options.port ?? 8787,
        hostname,
        serverOptions: {
          headersTimeout,
          requestTimeout,
          keepAliveTimeout,
          // Node checks the two timeouts above on this period (30 s by default, which would let
          // a slow client overstay a short timeout by that much).
          connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(headersTimeout / 4))),
        },
      },
      () => resolve(started as Server),
    ) as Server
    started.once('error', reject)
  })
  // Requests in flight per connection: at shutdown a connection with none is closed at once,
  // including one a client opened and never used (Node's idle sweep leaves those to time out).
  const inFlight = new Map<Socket, number>()
  server.on('connection', (socket: Socket) => {
    inFlight.set(socket, 0)
    socket.once('close', () => inFlight.delete(socket))
  })
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const { socket } = request
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1)
    response.once('close', () => inFlight.set(socket, Math.max(0, (inFlight.get(socket) ?? 1) - 1)))
  })
  const closeIdle = () => {
    server.closeIdleConnections()
    for (const [socket, count] of inFlight) if (count === 0) socket.destroy()
  }
  const { port } = server.address() as AddressInfo
  const failures = failureLog({ log: options.log ?? console.error })
  const schedule = publishEveryMs === false ? null : scheduleTreeHeads(options.backend, { everyMs: publishEveryMs, onError: (error) => failures.backend(error) })
  let closing: Promise<void> | undefined
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
    port,
    server,
    close() {
      closing ??= (async () => {
        closeEventStreams(app)
        await new Promise<void>((resolve, reject) => {
          // Keep-alive connections turn idle as their last request finishes; close each then,
          // rather than waiting for the client's keep-alive timeout.
          const sweep = setInterval(closeIdle, 25)
          const deadline = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs ?? 10_000)
          server.close((error) => {
            clearInterval(sweep)
            clearTimeout(deadline)
            if (error) reject(error)
            else resolve()
          })
          closeIdle()
        })
        await schedule?.stop()
        await closeHaldirServer(app)
        await options.backend.close?.()
      })()
      return closing
    },
  }
}

function milliseconds(value: number | undefined, fallback: number, path: string): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError({ issues: [{ path, message: 'must be a whole number of milliseconds ≥ 1' }] })
  return value
}
