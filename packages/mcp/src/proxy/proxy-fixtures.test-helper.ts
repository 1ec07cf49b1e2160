// Shared by the proxy tests: the two real upstreams (the SDK test server of this package, and
// @modelcontextprotocol/server-everything from npm) spawned over stdio, and the test server
// over Streamable HTTP.
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { createTestUpstream } from '../test-upstream.test-helper.ts'
import type { ProxyConfigInput } from './proxy-config.ts'

export const testUpstreamScript = fileURLToPath(new URL('../test-upstream.test-helper.ts', import.meta.url))
export const everythingScript = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js')

/** `pay` (the test server) and `everything`; `echo` is offered by both, so it is namespaced. */
export function proxyConfig(overrides: Partial<ProxyConfigInput> = {}): ProxyConfigInput {
  return {
    upstreams: {
      pay: { command: process.execPath, args: [testUpstreamScript, 'pay'], timeoutMs: 1_000 },
      everything: { command: process.execPath, args: [everythingScript, 'stdio'], resources: true, prompts: true },
    },
    scopes: { charge: 'payments', 'get-sum': 'math', pay__echo: 'read', everything__echo: 'read', search: 'read' },
    costs: { charge: { argument: 'amount' }, 'get-sum': 0.001, crash: 0.1, slow: 0.1, refuse: 0.05 },
    timeoutMs: 10_000,
    ...overrides,
  }
}

/** An MCP client of the official SDK over Streamable HTTP, with extra request headers. */
export async function httpClient(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'test-client', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  return client
}

/** The text of a tool result. */
export function text(result: unknown): string {
  return ((result as CallToolResult).content ?? []).map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join('\n')
}

/** Tool names, sorted. */
export async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((tool) => tool.name).sort()
}

/**
 * The test upstream over Streamable HTTP on a loopback port, one McpServer per MCP session;
 * requests without the given Authorization header get 401.
 */
export async function serveTestUpstreamOverHttp(authorization: string): Promise<{ url: string; close: () => Promise<void> }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const listener = createServer(async (request, response) => {
    if (request.headers.authorization !== authorization) return void response.writeHead(401).end()
    const chunks: Buffer[] = []
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk)
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined
    const id = request.headers['mcp-session-id']
    let transport = typeof id === 'string' ? sessions.get(id) : undefined
    if (!transport) {
      const created = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (sessionId) => void sessions.set(sessionId, created) })
      transport = created
      await createTestUpstream({ name: 'remote', onCrash: () => listener.closeAllConnections() }).server.connect(created)
    }
    await transport.handleRequest(request, response, body)
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const { port } = listener.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await Promise.all([...sessions.values()].map((transport) => transport.close()))
      await new Promise<void>((resolve) => {
        listener.close(() => resolve())
        listener.closeAllConnections()
      })
    },
  }
}
