// The upstream MCP server of bench/mcp.bench.ts: one `echo` tool on the SDK's McpServer, over
// stdio (`node bench/mcp-upstream.ts stdio`) or Streamable HTTP (`… http`, prints its URL).
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { z } from 'zod'

function upstream(): McpServer {
  const server = new McpServer({ name: 'bench-upstream', version: '1.0.0' })
  server.registerTool('echo', { description: 'Echoes a message', inputSchema: { message: z.string() } }, ({ message }) => ({ content: [{ type: 'text', text: message }] }))
  return server
}

if (process.argv[2] === 'http') {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const listener = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk)
    const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined
    const id = request.headers['mcp-session-id']
    let transport = typeof id === 'string' ? sessions.get(id) : undefined
    if (!transport) {
      const created = new StreamableHTTPServerTransport({ sessionIdGenerator: randomUUID, onsessioninitialized: (sessionId) => void sessions.set(sessionId, created) })
      transport = created
      await upstream().connect(created)
    }
    await transport.handleRequest(request, response, body)
  })
  listener.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(listener.address() as AddressInfo).port}/mcp`))
} else {
  await upstream().connect(new StdioServerTransport())
}
