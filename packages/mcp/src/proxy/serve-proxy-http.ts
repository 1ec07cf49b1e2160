import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { BackendError, HaldirError } from '@haldir/core'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import type { HaldirProxy } from './create-haldir-proxy.ts'
import type { HttpSessionResolver } from './http-session-resolver.ts'

export interface ServeProxyHttpOptions {
  proxy: HaldirProxy
  /** Maps a request's credentials to its Haldir session (see `httpSessionResolver`). */
  resolveSession: HttpSessionResolver
  /** 0 picks a free port. @default 8788 */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /** The MCP endpoint. @default '/mcp' */
  path?: string
  /** Browser origins allowed to call; a request with any other `Origin` is refused (DNS-rebinding defence). @default [] */
  allowedOrigins?: readonly string[]
  /** An MCP session without requests for this long is closed. @default 1_800_000 */
  sessionIdleMs?: number
  /** Largest accepted POST body, in bytes. @default 4_194_304 */
  maxBodyBytes?: number
  /**
   * Answer each POST with plain JSON (one write; the lower latency). `false`: an SSE stream per
   * call, which also relays the upstream's progress notifications mid-call. @default true
   */
  jsonResponse?: boolean
  log?: (line: string) => void
}

export interface RunningProxyHttp {
  /** `http://host:port/mcp` */
  url: string
  port: number
  server: HttpServer
  /** Closes every MCP session and the listener (the proxy and its upstreams stay open). */
  close(): Promise<void>
}

interface McpSession {
  transport: StreamableHTTPServerTransport
  /** The credentials that opened it: every later request must present the same ones. */
  fingerprint: string
  idle: NodeJS.Timeout | undefined
}

/**
 * Serves the proxy over MCP Streamable HTTP on `node:http`. An `initialize` request opens an
 * MCP session bound to the Haldir session its credentials map to (a new one per connection
 * when the configuration says `create`); every later request must carry the session id the
 * server returned and the same credentials. Unknown credentials get 401, another caller's MCP
 * session 403.
 */
export async function serveProxyHttp(options: ServeProxyHttpOptions): Promise<RunningProxyHttp> {
  const { proxy, resolveSession } = options
  const path = options.path ?? '/mcp'
  const allowedOrigins = new Set(options.allowedOrigins ?? [])
  const idleMs = options.sessionIdleMs ?? 1_800_000
  const maxBodyBytes = options.maxBodyBytes ?? 4_194_304
  const log = options.log ?? ((line: string) => process.stderr.write(`haldir-mcp: ${line}\n`))
  const sessions = new Map<string, McpSession>()

  const touch = (mcpSessionId: string, session: McpSession) => {
    clearTimeout(session.idle)
    session.idle = setTimeout(() => void session.transport.close().catch(() => {}), idleMs).unref()
    sessions.set(mcpSessionId, session)
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (new URL(request.url ?? '/', 'http://proxy').pathname !== path) return reply(response, 404, `No MCP endpoint at ${request.url}; use ${path}`)
    const origin = request.headers.origin
    if (origin !== undefined && !allowedOrigins.has(origin)) return reply(response, 403, `Origin ${origin} is not allowed`)
    const caller = resolveSession(request.headers)
    if ('refused' in caller) {
      response.setHeader('www-authenticate', 'Bearer')
      return reply(response, 401, `Unauthorized: ${caller.refused}`)
    }
    let body: unknown
    if (request.method === 'POST') {
      const read = await readJson(request, maxBodyBytes)
      if ('status' in read) return reply(response, read.status, read.message, read.status === 400 ? -32700 : -32600)
      body = read.json
    }
    const mcpSessionId = request.headers['mcp-session-id']
    if (typeof mcpSessionId === 'string') {
      const session = sessions.get(mcpSessionId)
      if (!session) return reply(response, 404, 'Session not found: initialize again', -32001)
      if (session.fingerprint !== caller.fingerprint) return reply(response, 403, 'This MCP session was opened with other credentials')
      touch(mcpSessionId, session)
      return session.transport.handleRequest(request, response, body)
    }
    if (request.method !== 'POST' || !isInitializeRequest(body)) return reply(response, 400, 'Bad Request: no Mcp-Session-Id; start with an initialize request')
    let haldirSessionId: string
    try {
      haldirSessionId = await caller.open()
    } catch (error) {
      const status = BackendError.isInstance(error) ? 503 : HaldirError.isInstance(error) ? 403 : 500
      if (status === 500) log(`opening a session failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      return reply(response, status, `No Haldir session: ${HaldirError.isInstance(error) ? error.message : 'internal error'}`)
    }
    const session: McpSession = {
      fingerprint: caller.fingerprint,
      idle: undefined,
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        enableJsonResponse: options.jsonResponse ?? true,
        onsessioninitialized: (id) => touch(id, session),
      }),
    }
    session.transport.onclose = () => {
      clearTimeout(session.idle)
      if (session.transport.sessionId) sessions.delete(session.transport.sessionId)
    }
    const server = proxy.createServer(haldirSessionId)
    await server.connect(session.transport)
    await session.transport.handleRequest(request, response, body)
  }

  const listener = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      log(`request failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      if (!response.headersSent) reply(response, 500, 'Internal error')
      else response.end()
    })
  })
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject)
    listener.listen(options.port ?? 8788, host, () => resolve())
  })
  const { port } = listener.address() as AddressInfo
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
    port,
    server: listener,
    async close() {
      await Promise.all([...sessions.values()].map((session) => session.transport.close().catch(() => {})))
      await new Promise<void>((resolve) => {
        listener.close(() => resolve())
        listener.closeAllConnections()
      })
    },
  }
}

function reply(response: ServerResponse, status: number, message: string, code = -32000): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }))
}

async function readJson(request: IncomingMessage, limit: number): Promise<{ json: unknown } | { status: number; message: string }> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > limit) return { status: 413, message: `Request body over ${limit} bytes` }
    chunks.push(chunk)
  }
  try {
    return { json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }
  } catch {
    return { status: 400, message: 'Parse error: the body is not JSON' }
  }
}
