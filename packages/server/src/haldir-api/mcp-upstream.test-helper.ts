import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { z } from 'zod'

/**
 * An MCP server over Streamable HTTP (stateless: a server per request) for the proxy tests:
 * `charge` (by `amount`), `echo`, `refuse` (the tool's own error). Counts every HTTP request it
 * gets and every tool that ran.
 */
export async function mcpUpstream(): Promise<{ url: string; requests: () => number; calls: string[]; close: () => Promise<void> }> {
  const calls: string[] = []
  let requests = 0
  const http: Server = createServer(async (request, response) => {
    requests++
    const server = new McpServer({ name: 'payments', version: '1.0.0' })
    server.registerTool('charge', { description: 'Charges a card', inputSchema: { amount: z.number() } }, ({ amount }) => {
      calls.push('charge')
      return { content: [{ type: 'text', text: `charged $${amount}` }] }
    })
    server.registerTool('echo', { description: 'Echoes', inputSchema: { message: z.string() } }, ({ message }) => {
      calls.push('echo')
      return { content: [{ type: 'text', text: `echo: ${message}` }] }
    })
    server.registerTool('refuse', { description: 'Declines as a tool', inputSchema: {} }, () => {
      calls.push('refuse')
      return { content: [{ type: 'text', text: 'card declined' }], isError: true }
    })
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true })
    response.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    await transport.handleRequest(request, response)
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    requests: () => requests,
    calls,
    close: () =>
      new Promise((resolve) => {
        http.closeAllConnections()
        http.close(() => resolve())
      }),
  }
}
