// An upstream MCP server for the tests, on the SDK's McpServer: `charge` (priced by its `amount`),
// `echo`, `search` (a second scope), `refuse` (the tool's own error), `slow` (waits `ms`) and
// `crash` (its process dies mid-call). Run as a script, it serves over stdio.
import { pathToFileURL } from 'node:url'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { z } from 'zod'

export interface TestUpstream {
  server: McpServer
  /** The tools that ran, in order: what the upstream itself saw. */
  calls: string[]
}

export function createTestUpstream(options: { name?: string; onCrash: () => void }): TestUpstream {
  const server = new McpServer({ name: options.name ?? 'test-upstream', version: '1.0.0' })
  const calls: string[] = []
  server.registerTool('charge', { description: 'Charges a card', inputSchema: { amount: z.number(), memo: z.string().optional() } }, ({ amount }) => {
    calls.push('charge')
    return { content: [{ type: 'text', text: `charged $${amount}` }] }
  })
  server.registerTool('echo', { description: 'Echoes a message', inputSchema: { message: z.string() } }, ({ message }) => ({
    content: [{ type: 'text', text: `echo: ${message}` }],
  }))
  server.registerTool('search', { description: 'Searches', inputSchema: { query: z.string() } }, ({ query }) => ({
    content: [{ type: 'text', text: `results for ${query}` }],
  }))
  server.registerTool('refuse', { description: 'Always fails as a tool', inputSchema: {} }, () => ({
    content: [{ type: 'text', text: 'card declined' }],
    isError: true,
  }))
  server.registerTool('slow', { description: 'Answers after ms milliseconds', inputSchema: { ms: z.number() } }, async ({ ms }) => {
    await new Promise((resolve) => setTimeout(resolve, ms))
    return { content: [{ type: 'text', text: `slept ${ms} ms` }] }
  })
  server.registerTool('crash', { description: 'Dies mid-call', inputSchema: {} }, async () => {
    setTimeout(options.onCrash, 10)
    await new Promise(() => {})
    return { content: [] }
  })
  return { server, calls }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { server } = createTestUpstream({ name: process.argv[2] ?? 'test-upstream', onCrash: () => process.exit(3) })
  await server.connect(new StdioServerTransport())
}
