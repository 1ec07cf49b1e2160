import type { Readable, Writable } from 'node:stream'
import { type Haldir, ValidationError } from '@haldir/core'
import { createHaldirProxy, type HaldirProxy } from './create-haldir-proxy.ts'
import { haldirFromConfig } from './haldir-from-config.ts'
import { httpSessionResolver } from './http-session-resolver.ts'
import { openSession } from './open-session.ts'
import { parseProxyConfig, type ProxyConfig, type ProxyConfigInput, type SessionConfig } from './proxy-config.ts'
import { serveProxyHttp } from './serve-proxy-http.ts'
import { serveProxyStdio } from './serve-proxy-stdio.ts'

export interface StartProxyOptions {
  config: ProxyConfigInput | ProxyConfig
  /** Serve over Streamable HTTP (the configuration's `http` section, overridden here) instead of stdio. */
  http?: { port?: number; host?: string } | boolean
  /** An existing session to govern every call as, instead of the configuration's `session`. */
  sessionId?: string
  /** A Haldir client to use instead of the configuration's `backend` (embedding, tests). Not closed by `close()`. */
  haldir?: Haldir
  log?: (line: string) => void
  /** The stdio streams. @default process.stdin / process.stdout */
  stdio?: { stdin?: Readable; stdout?: Writable }
}

export interface RunningProxy {
  proxy: HaldirProxy
  /** HTTP mode: the MCP endpoint. */
  url: string | undefined
  /** Stdio mode: the session the connection is governed as. */
  sessionId: string | undefined
  /** Resolves when the stdio client goes away (never, in HTTP mode, until `close()`). */
  closed: Promise<void>
  close(): Promise<void>
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/

/**
 * Starts the governing proxy from a configuration: the backend, the upstreams, and either one
 * stdio connection (one session: the configured id, or one created now) or an HTTP listener
 * (a session per MCP session, from the configured credential rule).
 *
 * @throws ValidationError when the configuration does not fit the mode (HTTP credential rules over
 * stdio; no credentials on a non-loopback HTTP host), or is invalid
 */
export async function startProxy(options: StartProxyOptions): Promise<RunningProxy> {
  const config = parseProxyConfig(options.config)
  const log = options.log ?? ((line: string) => process.stderr.write(`haldir-mcp: ${line}\n`))
  const overHttp = options.http !== undefined && options.http !== false
  const http = { ...config.http, ...(typeof options.http === 'object' ? options.http : {}) }
  const host = http.host ?? '127.0.0.1'
  const session: SessionConfig | undefined = options.sessionId !== undefined ? { id: options.sessionId } : config.session
  if (session === undefined) throw new ValidationError({ issues: [{ path: 'session', message: 'is required: { "id" } or { "create" } (or pass --session ID)' }] })
  if (!overHttp && (session.header !== undefined || session.apiKeys !== undefined)) {
    throw new ValidationError({ issues: [{ path: `session.${session.header !== undefined ? 'header' : 'apiKeys'}`, message: 'maps HTTP credentials to sessions: serve with --http, or use "id" / "create" over stdio' }] })
  }
  if (overHttp && (session.id !== undefined || session.create !== undefined) && !LOOPBACK.test(host)) {
    throw new ValidationError({ issues: [{ path: 'session', message: `without credentials, anyone who reaches ${host} acts as this session: use "apiKeys" or "header", or bind to 127.0.0.1` }] })
  }
  const backendUrl = typeof config.backend === 'string' ? config.backend : config.backend.url
  if (options.haldir === undefined && backendUrl === 'memory' && (session.id !== undefined || session.header !== undefined || session.apiKeys?.some((entry) => entry.session.id !== undefined))) {
    // A memory backend starts empty in the proxy's own process: only sessions it creates exist.
    throw new ValidationError({ issues: [{ path: 'session', message: 'names existing sessions, but a memory backend starts empty: use "create", or a haldir server / postgres:// backend' }] })
  }
  const haldir = options.haldir ?? (await haldirFromConfig(config.backend))
  const ownsHaldir = options.haldir === undefined
  let proxy: HaldirProxy
  let existingSessionId: string | undefined
  try {
    // An existing session is checked before any upstream starts: a wrong id (another tenant's, say) fails fast.
    if (!overHttp && session.id !== undefined) existingSessionId = await openSession(haldir, session)
    proxy = await createHaldirProxy({ haldir, config, log })
  } catch (error) {
    if (ownsHaldir) await haldir.close().catch(() => {})
    throw error
  }
  const summary = `${proxy.tools.size} tools from ${Object.keys(config.upstreams).length} upstream${Object.keys(config.upstreams).length === 1 ? '' : 's'}`
  const shutdown = async (stopServing: () => Promise<void>) => {
    await stopServing()
    await proxy.close()
    if (ownsHaldir) await haldir.close().catch(() => {})
  }
  try {
    if (overHttp) {
      const running = await serveProxyHttp({ proxy, resolveSession: httpSessionResolver(haldir, session), ...http, host, log })
      log(`listening on ${running.url} (${summary})`)
      let release = () => {}
      const closed = new Promise<void>((resolve) => (release = resolve))
      let closing: Promise<void> | undefined
      return {
        proxy,
        url: running.url,
        sessionId: undefined,
        closed,
        close: () => (closing ??= shutdown(() => running.close()).finally(release)),
      }
    }
    const sessionId = existingSessionId ?? (await openSession(haldir, session))
    const served = await serveProxyStdio(proxy, sessionId, options.stdio)
    log(`serving ${summary} over stdio as session ${sessionId}`)
    let closing: Promise<void> | undefined
    return { proxy, url: undefined, sessionId, closed: served.closed, close: () => (closing ??= shutdown(async () => {})) }
  } catch (error) {
    await shutdown(async () => {})
    throw error
  }
}
