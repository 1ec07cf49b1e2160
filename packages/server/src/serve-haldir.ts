import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { serve } from '@hono/node-server'
import { createHaldirServer, type HaldirServerOptions } from './create-haldir-server.ts'

export interface ServeHaldirOptions extends HaldirServerOptions {
  /** 0 picks a free port. @default 8787 */
  port?: number
  /** @default '127.0.0.1' */
  hostname?: string
  /** How long `close()` waits for in-flight requests before cutting connections. @default 10_000 */
  shutdownTimeoutMs?: number
}

export interface RunningHaldirServer {
  /** `http://host:port` */
  url: string
  port: number
  server: Server
  /**
   * Graceful shutdown: stops accepting connections, lets in-flight requests finish, closes idle
   * keep-alive connections, then closes the backend.
   */
  close(): Promise<void>
}

/** Starts the Haldir API on `@hono/node-server` and resolves once it listens. */
export async function serveHaldir(options: ServeHaldirOptions): Promise<RunningHaldirServer> {
  const app = createHaldirServer(options)
  const hostname = options.hostname ?? '127.0.0.1'
  const server = await new Promise<Server>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, port: options.port ?? 8787, hostname }, () => resolve(started as Server)) as Server
    started.once('error', reject)
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | undefined
  return {
    url: `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`,
    port,
    server,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve, reject) => {
          // Keep-alive connections turn idle as their last request finishes; close each then,
          // rather than waiting for the client's keep-alive timeout.
          const sweep = setInterval(() => server.closeIdleConnections(), 25)
          const deadline = setTimeout(() => server.closeAllConnections(), options.shutdownTimeoutMs ?? 10_000)
          server.close((error) => {
            clearInterval(sweep)
            clearTimeout(deadline)
            if (error) reject(error)
            else resolve()
          })
          server.closeIdleConnections()
        })
        await options.backend.close?.()
      })()
      return closing
    },
  }
}
