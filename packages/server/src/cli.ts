#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { type AuditEntry, createHaldir, formatAuditEntry, type Haldir, HaldirError, httpBackend, microsToUsd, usdToMicros } from '@haldir/core'
import { apiKeyStore, createApiKey, hashApiKey, parseApiKeys } from './api-keys.ts'
import { backendFromUrl } from './backend-from-url.ts'
import { serveHaldir } from './serve-haldir.ts'

const usage = `haldir — the Haldir server and audit tools

  haldir serve  [--port 8787] [--host 127.0.0.1] [--backend memory|postgres://…] [--keys-file FILE]
                API keys: HALDIR_API_KEYS="tenant=hld_…,other=sha256:…" or --keys-file (same format, one per line)
                master key: HALDIR_MASTER_KEY (required for postgres)
  haldir keys create --tenant NAME       print a new API key and the line to configure it with
  haldir audit  (--session ID | --agent ID) [--url URL] [--key KEY] [--backend URL] [--json]
  haldir verify --session ID [--url URL] [--key KEY] [--backend URL]

  --url defaults to HALDIR_URL or http://127.0.0.1:8787, --key to HALDIR_API_KEY; --backend reads
  the store directly instead of through a server.`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      backend: { type: 'string' },
      'keys-file': { type: 'string' },
      tenant: { type: 'string' },
      session: { type: 'string' },
      agent: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (!command || values.help || command === 'help') {
    console.log(usage)
    return command ? 0 : 1
  }
  switch (command) {
    case 'serve':
      return serve(values)
    case 'keys': {
      if (positionals[0] !== 'create' || !values.tenant) throw new Error('usage: haldir keys create --tenant NAME')
      const key = createApiKey()
      console.log(`API key (shown once): ${key}`)
      console.log(`configure the server with: ${values.tenant}=${hashApiKey(key)}`)
      return 0
    }
    case 'audit':
      return audit(await client(values), values)
    case 'verify':
      return verify(await client(values), values)
    default:
      console.error(`unknown command '${command}'\n\n${usage}`)
      return 1
  }
}

async function serve(values: { port?: string; host?: string; backend?: string; 'keys-file'?: string }): Promise<number> {
  const keysText = values['keys-file'] ? readFileSync(values['keys-file'], 'utf8') : (process.env.HALDIR_API_KEYS ?? '')
  const apiKeys = apiKeyStore(parseApiKeys(keysText))
  if (apiKeys.size === 0) throw new Error('no API keys: set HALDIR_API_KEYS or pass --keys-file (create one with `haldir keys create --tenant NAME`)')
  const backend = await backendFromUrl(values.backend ?? 'memory')
  const running = await serveHaldir({ backend, apiKeys, port: values.port === undefined ? 8787 : Number(values.port), hostname: values.host ?? '127.0.0.1' })
  console.log(`haldir listening on ${running.url} (backend: ${backend.name}, ${apiKeys.size} API key${apiKeys.size === 1 ? '' : 's'})`)
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`haldir: ${signal}, finishing in-flight requests`)
      running.close().then(resolve, (error: unknown) => {
        console.error('haldir: shutdown failed', error)
        resolve()
      })
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
  console.log('haldir: stopped')
  return 0
}

async function client(values: { url?: string; key?: string; backend?: string; tenant?: string }): Promise<Haldir> {
  if (values.backend) return createHaldir({ backend: await backendFromUrl(values.backend), tenant: values.tenant ?? 'default' })
  const url = values.url ?? process.env.HALDIR_URL ?? 'http://127.0.0.1:8787'
  const apiKey = values.key ?? process.env.HALDIR_API_KEY
  if (!apiKey) throw new Error('an API key is needed: --key or HALDIR_API_KEY')
  return createHaldir({ backend: httpBackend({ url, apiKey }) })
}

async function audit(haldir: Haldir, values: { session?: string; agent?: string; json?: boolean }): Promise<number> {
  if (!values.session && !values.agent) throw new Error('usage: haldir audit --session ID | --agent ID')
  const entries: AuditEntry[] = []
  for (let offset: number | null = 0; offset !== null; ) {
    const page = await haldir.getAuditTrail({ sessionId: values.session, agentId: values.agent, offset, limit: 1000 })
    entries.push(...page.entries)
    offset = page.nextOffset
  }
  if (values.json) {
    console.log(JSON.stringify(entries, null, 2))
  } else {
    for (const entry of entries) console.log(formatAuditEntry(entry))
    const blocked = entries.filter((entry) => entry.outcome === 'denied').length
    const spent = microsToUsd(entries.reduce((sum, entry) => sum + usdToMicros(entry.costUsd, 'costUsd'), 0))
    console.log(`${entries.length} entries, ${blocked} blocked, $${spent.toFixed(6)} recorded`)
  }
  await haldir.close()
  return 0
}

async function verify(haldir: Haldir, values: { session?: string }): Promise<number> {
  if (!values.session) throw new Error('usage: haldir verify --session ID')
  const result = await haldir.verifyAuditTrail(values.session)
  await haldir.close()
  if (result.ok) {
    console.log(`ok: ${result.count} entries, chain intact`)
    return 0
  }
  console.log(`BROKEN at entry ${result.brokenAt} (${result.reason}): ${result.message}`)
  return 2
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`haldir: ${HaldirError.isInstance(error) || error instanceof Error ? error.message : String(error)}`)
    process.exit(1)
  },
)
