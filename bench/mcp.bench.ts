// A tools/call through the governing MCP proxy vs the same call straight to its upstream, in the
// same run, interleaved (direct, proxied, direct, …), medians of the rounds; over stdio and over
// Streamable HTTP on loopback. Every part runs in its own process, as deployed: the upstream
// (bench/mcp-upstream.ts), the proxy (packages/mcp/dist/cli.js, memory backend), and the client
// (this process, the official SDK Client). Target (issue #16): ≤ 1 ms added at p50.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { interleaved, measure, type Measurement, report } from './measure.ts'

const calls = Number(process.env.BENCH_MCP_CALLS ?? 2_000)
const upstreamScript = fileURLToPath(new URL('./mcp-upstream.ts', import.meta.url))
const cli = fileURLToPath(new URL('../packages/mcp/dist/cli.js', import.meta.url))
const folder = mkdtempSync(join(tmpdir(), 'haldir-mcp-bench-'))
const children: ChildProcess[] = []
const clients: Client[] = []

/** Every call is governed: scope '*' session, unlimited, charged a micro-dollar, audited. */
function writeConfig(name: string, upstream: object, http: object = {}): string {
  const file = join(folder, `${name}.json`)
  writeFileSync(file, JSON.stringify({ upstreams: { bench: upstream }, costs: { echo: 0.000001 }, session: { create: { agentId: `bench-${name}`, scopes: ['*'], ttl: 86_400 } }, http }))
  return file
}

async function connect(transport: StdioClientTransport | StreamableHTTPClientTransport): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1.0.0' })
  await client.connect(transport)
  clients.push(client)
  return client
}

/** Starts a process and resolves with the URL it prints (`listening on …`, on stdout or stderr). */
function startListening(args: string[]): Promise<string> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  return new Promise((resolve, reject) => {
    let output = ''
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) resolve(match[1] as string)
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${output}`)))
  })
}

const stdioDirect = await connect(new StdioClientTransport({ command: process.execPath, args: [upstreamScript, 'stdio'] }))
const stdioConfig = writeConfig('stdio', { command: process.execPath, args: [upstreamScript, 'stdio'] })
const stdioProxied = await connect(new StdioClientTransport({ command: process.execPath, args: [cli, 'proxy', '--config', stdioConfig], stderr: 'ignore' }))

const upstreamUrl = await startListening([upstreamScript, 'http'])
const httpDirect = await connect(new StreamableHTTPClientTransport(new URL(upstreamUrl)))
// The proxy answers POSTs with JSON by default; with `http.jsonResponse: false` it streams SSE (and relays progress).
const jsonProxyUrl = await startListening([cli, 'proxy', '--config', writeConfig('http-json', { url: upstreamUrl }), '--http', '0'])
const httpProxied = await connect(new StreamableHTTPClientTransport(new URL(jsonProxyUrl)))
const sseProxyUrl = await startListening([cli, 'proxy', '--config', writeConfig('http-sse', { url: upstreamUrl }, { jsonResponse: false }), '--http', '0'])
const httpProxiedSse = await connect(new StreamableHTTPClientTransport(new URL(sseProxyUrl)))

const echo = (client: Client) => () => client.callTool({ name: 'echo', arguments: { message: 'haldir' } })
const options = { calls, warmup: Math.min(500, calls) }
const rounds = process.env.BENCH_ROUNDS ?? 5

for (const [transport, direct, variants] of [
  ['stdio', stdioDirect, [['through the proxy (gate, forward, settle, audit)', stdioProxied]]],
  [
    'Streamable HTTP',
    httpDirect,
    [
      ['through the proxy, JSON responses (default)', httpProxied],
      ['through the proxy, SSE responses (jsonResponse: false)', httpProxiedSse],
    ],
  ],
] as const) {
  const [baseline, ...through] = (await interleaved([
    { name: `${transport}: straight to the upstream`, run: () => measure(`${transport} direct`, echo(direct), options) },
    ...variants.map(([label, client]) => ({ name: `${transport}: ${label}`, run: () => measure(label, echo(client), options) })),
  ])) as [Measurement, ...Measurement[]]
  report(`tools/call over ${transport}: through the governing proxy vs straight to the upstream (medians of ${rounds} interleaved rounds)`, baseline, through)
  for (const row of through) console.log(`${row.name}: added ${Math.round(row.p50Us - baseline.p50Us)} µs at p50, ${Math.round(row.p99Us - baseline.p99Us)} µs at p99`)
}

await Promise.all(clients.map((client) => client.close()))
for (const child of children) child.kill('SIGTERM')
