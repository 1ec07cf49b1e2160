#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { HaldirError } from '@haldir/core'
import { loadProxyConfig } from './proxy/load-proxy-config.ts'
import { startProxy } from './proxy/start-proxy.ts'

const usage = `haldir-mcp — a governing MCP proxy: every tool call passes Haldir's gate (scope, liveness, budget), is settled and audited

  haldir-mcp proxy --config FILE [--http PORT] [--host HOST] [--session ID]

  stdio (default): one client (Claude Desktop, Cursor …) runs this as its MCP server, governed as the
                   configuration's session (an existing id, or one created per start) or --session ID
  --http PORT      Streamable HTTP on PORT (0 picks one) at the configuration's http.path (default /mcp)
  --host HOST      the address to listen on (default 127.0.0.1)

  Logs go to stderr; stdout carries MCP only.`

// Everything human goes to stderr: in stdio mode, stdout is the MCP stream.
const log = (line: string) => process.stderr.write(`haldir-mcp: ${line}\n`)

async function main(argv: string[]): Promise<number> {
  const command = argv[0]?.startsWith('-') ? undefined : argv[0]
  const { values } = parseArgs({
    args: command === undefined ? argv : argv.slice(1),
    options: {
      config: { type: 'string', short: 'c' },
      http: { type: 'string' },
      host: { type: 'string' },
      session: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help || command === 'help') {
    process.stderr.write(`${usage}\n`)
    return 0
  }
  if (!command) {
    process.stderr.write(`${usage}\n`)
    return 1
  }
  if (command !== 'proxy') {
    process.stderr.write(`unknown command '${command}'\n\n${usage}\n`)
    return 1
  }
  if (!values.config) throw new Error('--config FILE is required')
  const port = values.http === undefined ? undefined : Number(values.http)
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) throw new Error(`--http must be a port number, got '${values.http}'`)
  const config = await loadProxyConfig(values.config)
  const running = await startProxy({
    config,
    log,
    ...(port === undefined ? {} : { http: { port, ...(values.host ? { host: values.host } : {}) } }),
    ...(values.session ? { sessionId: values.session } : {}),
  })
  const signal = await Promise.race([
    running.closed.then(() => 'client closed stdin'),
    new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'))
      process.once('SIGINT', () => resolve('SIGINT'))
    }),
  ])
  log(`${signal}, shutting down`)
  await running.close()
  log('stopped')
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`haldir-mcp: ${HaldirError.isInstance(error) || error instanceof Error ? error.message : String(error)}\n`)
    process.exit(1)
  },
)
