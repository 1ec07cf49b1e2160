import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { type CallToolResult, CallToolResultSchema, type ServerCapabilities, type Tool } from '@modelcontextprotocol/sdk/types.js'
import { UpstreamError } from '../errors/upstream-error.ts'
import type { UpstreamConfig } from './proxy-config.ts'

/** After a failed (re)connect, how long calls fail at once instead of starting the server again. */
const RETRY_AFTER_MS = 1_000

/** One upstream MCP server the proxy forwards to, reconnected on demand after it closes. */
export interface Upstream {
  readonly name: string
  readonly config: UpstreamConfig
  /** The upstream's tools, as of its last listing. */
  readonly tools: readonly Tool[]
  /** What the upstream declared when it was (last) connected. */
  readonly capabilities: ServerCapabilities | undefined
  /** Forwards `tools/call` as it is (the caller's client validates the result against the tool's schema). */
  callTool(params: { name: string; arguments: Record<string, unknown> }, options: RequestOptions): Promise<CallToolResult>
  /** The connected client (reopened if it closed), for the requests passed through as they are (resources, prompts). */
  client(): Promise<Client>
  close(): Promise<void>
}

export interface ConnectUpstreamOptions {
  /** How long connecting (and listing tools) may take. */
  timeoutMs: number
  /** Where the upstream's stderr and the proxy's notes about it go. */
  log: (line: string) => void
  /** Called after the tool list changed (a notification from the upstream, or a reconnect). */
  onToolsChanged?: (upstream: Upstream) => void
}

/**
 * Connects to an upstream MCP server (spawned over stdio, or at a Streamable HTTP URL) and lists
 * its tools. A connection that closes (a crashed process, a dropped session) is reopened at the
 * next request; until then nothing is forwarded.
 *
 * @throws UpstreamError (`unavailable`) when the server cannot be started or does not initialize
 */
export async function connectUpstream(name: string, config: UpstreamConfig, options: ConnectUpstreamOptions): Promise<Upstream> {
  let client: Client | null = null
  let connecting: Promise<Client> | null = null
  let closed = false
  let tools: readonly Tool[] = []
  let capabilities: ServerCapabilities | undefined
  let lastFailure: { at: number; error: unknown } | undefined

  async function open(): Promise<Client> {
    const next = new Client(
      { name: `haldir-mcp-proxy (${name})`, version: '1.0.0' },
      {
        listChanged: {
          tools: {
            onChanged: (error, listed) => {
              if (closed) return
              if (error || listed === null) options.log(`upstream '${name}': refreshing tools failed: ${error?.message ?? 'no list'}`)
              else {
                tools = listed
                options.onToolsChanged?.(upstream)
              }
            },
          },
        },
      },
    )
    const transport = createTransport(name, config, options.log)
    transport.onclose = () => {
      if (client === next) client = null
      if (!closed) options.log(`upstream '${name}': connection closed; reopened at the next request`)
    }
    try {
      await next.connect(transport, { timeout: options.timeoutMs })
      const listed: Tool[] = []
      let cursor: string | undefined
      do {
        const page = await next.listTools(cursor === undefined ? undefined : { cursor }, { timeout: options.timeoutMs })
        listed.push(...page.tools)
        cursor = page.nextCursor
      } while (cursor !== undefined)
      const changed = tools.length > 0 && toolNames(tools) !== toolNames(listed)
      tools = listed
      capabilities = next.getServerCapabilities()
      client = next
      if (changed) options.onToolsChanged?.(upstream)
      return next
    } catch (error) {
      await next.close().catch(() => {})
      throw new UpstreamError({ upstream: name, failure: 'unavailable', message: `upstream '${name}' is unavailable: ${error instanceof Error ? error.message : String(error)}`, cause: error })
    }
  }

  function connected(): Promise<Client> {
    if (closed) return Promise.reject(new UpstreamError({ upstream: name, failure: 'closed', message: `upstream '${name}' is closed` }))
    if (client) return Promise.resolve(client)
    // A server that will not start is not spawned again for every call: its failure stands for a moment.
    if (lastFailure && performance.now() - lastFailure.at < RETRY_AFTER_MS) return Promise.reject(lastFailure.error)
    connecting ??= open()
      .catch((error: unknown) => {
        lastFailure = { at: performance.now(), error }
        throw error
      })
      .finally(() => {
        connecting = null
      })
    return connecting
  }

  const upstream: Upstream = {
    name,
    config,
    get tools() {
      return tools
    },
    get capabilities() {
      return capabilities
    },
    async callTool(params, requestOptions) {
      // The raw request, not Client.callTool: the proxy forwards results, it does not re-validate them.
      return (await connected()).request({ method: 'tools/call', params }, CallToolResultSchema, requestOptions)
    },
    client: connected,
    async close() {
      closed = true
      await client?.close()
      client = null
    },
  }
  await connected()
  return upstream
}

function createTransport(name: string, config: UpstreamConfig, log: (line: string) => void): Transport {
  if (config.url !== undefined) {
    return new StreamableHTTPClientTransport(new URL(config.url), config.headers ? { requestInit: { headers: config.headers } } : undefined)
  }
  const transport = new StdioClientTransport({
    command: config.command as string,
    args: config.args ?? [],
    ...(config.env ? { env: config.env } : {}),
    ...(config.cwd ? { cwd: config.cwd } : {}),
    // Piped, never inherited: on a stdio proxy, stray output must not reach the client's stream.
    stderr: 'pipe',
  })
  // A PassThrough, available before the process starts (typed as the wider Stream).
  const stderr = transport.stderr as Readable | null
  if (stderr) createInterface({ input: stderr }).on('line', (line) => log(`[${name}] ${line}`))
  return transport
}

function toolNames(tools: readonly Tool[]): string {
  return tools
    .map((tool) => tool.name)
    .sort()
    .join('\n')
}
