// Shared by the proxy tests: the two real upstreams (the SDK test server of this package, and
// @modelcontextprotocol/server-everything from npm), both spawned over stdio.
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
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
