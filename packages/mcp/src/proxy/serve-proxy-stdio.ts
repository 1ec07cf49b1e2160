import type { Readable, Writable } from 'node:stream'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { HaldirProxy } from './create-haldir-proxy.ts'

/**
 * Serves the proxy to one client over stdio (this process's stdin and stdout, as Claude Desktop
 * and Cursor run a local server), governed as one session. Resolves once connected; `closed`
 * resolves when the client goes away (its end of stdin closes).
 */
export async function serveProxyStdio(proxy: HaldirProxy, sessionId: string, streams: { stdin?: Readable; stdout?: Writable } = {}): Promise<{ closed: Promise<void> }> {
  const stdin = streams.stdin ?? process.stdin
  const transport = new StdioServerTransport(stdin, streams.stdout ?? process.stdout)
  const server = proxy.createServer(sessionId)
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve()
    // The SDK's transport does not watch for the end of stdin: a client that exits only closes its pipe.
    stdin.once('end', () => void transport.close())
  })
  await server.connect(transport)
  return { closed }
}
