// Two ways to govern MCP tools, in front of the reference server @modelcontextprotocol/server-everything:
// 1. withHaldir(client): this process's own MCP client, governed.
// 2. the governing proxy, which any MCP client can use (here: over Streamable HTTP on loopback).
import { createRequire } from 'node:module'
import { createHaldir, formatAuditEntry } from '@haldir/core'
import { withHaldir } from '@haldir/mcp'
import { startProxy } from '@haldir/mcp/proxy'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

// The server from node_modules (`npx -y @modelcontextprotocol/server-everything` does the same, with a download).
const everything = { command: process.execPath, args: [createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js')] }
const text = (result: unknown) => ((result as CallToolResult).content[0] as { text: string }).text
const haldir = createHaldir()

console.log('— withHaldir(client)')
const session = await haldir.createSession({ agentId: 'assistant', scopes: ['math'], spendLimit: 0.01 })
const client = new Client({ name: 'assistant', version: '1.0.0' })
await client.connect(new StdioClientTransport({ ...everything, stderr: 'ignore' }))
const governed = withHaldir(client, { haldir, sessionId: session.id, scopes: { 'get-sum': 'math' }, costs: { 'get-sum': 0.004 } })
console.log('tools:', (await governed.listTools()).tools.map((tool) => tool.name).join(', '))
console.log(text(await governed.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })))
console.log(text(await governed.callTool({ name: 'echo', arguments: { message: 'hi' } })))
console.log(text(await governed.callTool({ name: 'get-sum', arguments: { a: 3, b: 4 } })))
console.log(text(await governed.callTool({ name: 'get-sum', arguments: { a: 5, b: 6 } })))
const spend = await haldir.getSpend(session.id)
console.log(`spend: $${spend.totalUsd} of $${spend.limitUsd}`)
await client.close()

console.log('— the governing proxy')
const proxy = await startProxy({
  haldir,
  config: {
    upstreams: { everything },
    scopes: { 'get-sum': 'math', echo: 'read' },
    costs: { 'get-sum': 0.001 },
    session: { create: { agentId: 'desktop', scopes: ['read'], spendLimit: 1 } },
  },
  http: { port: 0 },
  log: () => {},
})
const viaProxy = new Client({ name: 'any-mcp-client', version: '1.0.0' })
await viaProxy.connect(new StreamableHTTPClientTransport(new URL(proxy.url as string)))
console.log('tools:', (await viaProxy.listTools()).tools.map((tool) => tool.name).join(', '))
console.log(text(await viaProxy.callTool({ name: 'echo', arguments: { message: 'governed' } })))
console.log(text(await viaProxy.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } })))
await viaProxy.close()
await proxy.close()

const { entries } = await haldir.getAuditTrail({ agentId: 'desktop' })
for (const entry of entries) console.log(formatAuditEntry(entry))
console.log(`audit chain: ${(await haldir.verifyAuditTrail(entries[0]?.sessionId as string)).ok ? 'verified' : 'BROKEN'}`)
