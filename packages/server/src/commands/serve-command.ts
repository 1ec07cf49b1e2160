import { readFileSync } from 'node:fs'
import { ValidationError } from '@haldir/core'
import { type Command, Option } from 'commander'
import { apiKeyStore, parseApiKeys } from '../api-keys.ts'
import { backendFromUrl } from '../backend-from-url.ts'
import { listenFailure, parseDuration, parseHost, parsePort, parseRateLimit, parseUrl, wholeNumber } from '../cli-values.ts'
import { keyRegistry } from '../key-registry.ts'
import { defaultRateLimits, type RateLimitWindow } from '../rate-limits.ts'
import { addKeyRingOptions, keyRing, type KeyRingFlags } from './key-ring-flags.ts'

interface ServeFlags extends KeyRingFlags {
  port: number
  host: string
  backend: string
  keysFile?: string
  rateLimit: RateLimitWindow | false
  authFailureLimit: RateLimitWindow | false
  trustProxy: number
  maxBodyBytes: number
  bodyTimeout: number
  headersTimeout: number
  requestTimeout: number
  keepAliveTimeout: number
  shutdownTimeout: number
  publishTreeHeads: number | false
  bootstrapToken?: string
  demoKeys?: boolean
  webhooksAllowPrivate?: boolean
  mcpUpstream: string[]
  mintedKeysFile?: string
  metrics: boolean
  requestLog: boolean
}

const asFlag = (limit: RateLimitWindow) => `${limit.points}/${limit.durationSeconds}s`

/** `haldir serve`: the API, the dashboard and the schedule that signs tree heads. */
export function serveCommand(haldir: Command): void {
  const command = haldir
    .command('serve')
    .description('run the Haldir API, with the audit dashboard at / (memory state dies with the process: use postgres:// to keep it)')
    .addOption(new Option('--port <port>', 'TCP port, 0 picks a free one').default(8787).argParser(parsePort))
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1').argParser(parseHost))
    .addOption(new Option('--backend <spec>', "'memory' or a postgres:// URL (master key: HALDIR_MASTER_KEY)").default('memory'))
    .addOption(new Option('--keys-file <file>', 'API keys, one tenant:role=hld_… or tenant:role=sha256:… per line (else HALDIR_API_KEYS, comma-separated)'))
    .addOption(
      new Option('--rate-limit <limit>', "requests per API key, COUNT/DURATION or 'off'")
        .default(defaultRateLimits.perKey, asFlag(defaultRateLimits.perKey))
        .env('HALDIR_RATE_LIMIT')
        .argParser(parseRateLimit('--rate-limit')),
    )
    .addOption(
      new Option('--auth-failure-limit <limit>', "failed authentications per client address before it is refused, COUNT/DURATION or 'off'")
        .default(defaultRateLimits.failedAuth, asFlag(defaultRateLimits.failedAuth))
        .env('HALDIR_AUTH_FAILURE_LIMIT')
        .argParser(parseRateLimit('--auth-failure-limit')),
    )
    .addOption(
      new Option('--trust-proxy <hops>', 'reverse proxies in front whose X-Forwarded-For is trusted for the client address')
        .default(0)
        .env('HALDIR_TRUST_PROXY')
        .argParser(wholeNumber('--trust-proxy', { min: 0, max: 10 })),
    )
    .addOption(new Option('--max-body-bytes <bytes>', 'largest request body').default(1_048_576).argParser(wholeNumber('--max-body-bytes', { min: 1, max: 64 * 1024 * 1024 })))
    .addOption(new Option('--body-timeout <duration>', 'time a request body may take (408 after)').default(10_000, '10s').argParser(parseDuration('--body-timeout')))
    .addOption(new Option('--headers-timeout <duration>', 'time request headers may take (408 after)').default(10_000, '10s').argParser(parseDuration('--headers-timeout')))
    .addOption(new Option('--request-timeout <duration>', 'time a whole request may take (408 after)').default(30_000, '30s').argParser(parseDuration('--request-timeout')))
    .addOption(new Option('--keep-alive-timeout <duration>', 'how long an idle connection stays open').default(5_000, '5s').argParser(parseDuration('--keep-alive-timeout')))
    .addOption(new Option('--shutdown-timeout <duration>', 'how long SIGTERM waits for in-flight requests').default(10_000, '10s').argParser(parseDuration('--shutdown-timeout')))
    .addOption(
      new Option('--publish-tree-heads <duration>', "how often to sign a tree head for every tenant with new audit entries, or 'off'")
        .default(60_000, '1m')
        .env('HALDIR_PUBLISH_TREE_HEADS')
        .argParser(parseDurationOrOff('--publish-tree-heads')),
    )
    .addOption(new Option('--bootstrap-token <token>', 'lets POST /v1/keys without a key create a tenant, given this token (16+ characters); without it, never').env('HALDIR_BOOTSTRAP_TOKEN'))
    .addOption(new Option('--minted-keys-file <file>', 'where keys minted through POST /v1/keys are kept (hashes only); without it they live in this process').env('HALDIR_MINTED_KEYS_FILE'))
    .addOption(new Option('--webhooks-allow-private', 'let tenants register webhooks on loopback, private and link-local addresses (refused by default: SSRF)').env('HALDIR_WEBHOOKS_ALLOW_PRIVATE'))
    .addOption(new Option('--demo-keys', 'let anyone mint a key of a fresh demo tenant (POST /v1/demo/key), 10 per address and hour'))
    .addOption(
      new Option('--mcp-upstream <url>', 'an MCP server (Streamable HTTP URL) tenants may register as a proxy upstream (repeatable; adds to HALDIR_MCP_UPSTREAMS)').default([], 'none').argParser(collectUrl),
    )
    .addOption(new Option('--no-metrics', 'do not serve GET /metrics (Prometheus text format, for admin and auditor keys)'))
    .addOption(new Option('--no-request-log', 'do not write a JSON line per request to stdout (id, tenant, route, status, duration)'))
  addKeyRingOptions(command).action(async (flags: ServeFlags) => {
    process.exitCode = await serve(flags)
  })
}

function collectUrl(text: string, earlier: string[]): string[] {
  try {
    return [...earlier, parseUrl(text.trim())]
  } catch {
    throw new ValidationError({ message: `--mcp-upstream must be an http:// or https:// URL, got '${text.slice(0, 60)}'` })
  }
}

function parseDurationOrOff(flag: string): (text: string) => number | false {
  const duration = parseDuration(flag)
  return (text) => {
    if (text.trim() === 'off') return false
    try {
      return duration(text)
    } catch {
      throw new ValidationError({ message: `${flag} must be 'off' or a duration like 30s, 5m or 1h (at most 24h), got '${text.slice(0, 40)}'` })
    }
  }
}

async function serve(flags: ServeFlags): Promise<number> {
  const keysText = flags.keysFile ? readKeysFile(flags.keysFile) : (process.env.HALDIR_API_KEYS ?? '')
  const apiKeys = apiKeyStore(parseApiKeys(keysText))
  const registry = keyRegistry(flags.mintedKeysFile ? { file: flags.mintedKeysFile } : {})
  if (apiKeys.size === 0 && registry.size === 0 && !flags.bootstrapToken) {
    throw new Error('no API keys: set HALDIR_API_KEYS or pass --keys-file (create one with `haldir keys create --tenant NAME --role ROLE`), or --bootstrap-token to create tenants through POST /v1/keys')
  }
  const mcpUpstreams = [...(process.env.HALDIR_MCP_UPSTREAMS ?? '').split(',').map((url) => url.trim()).filter(Boolean).reduce<string[]>((urls, url) => collectUrl(url, urls), []), ...flags.mcpUpstream]
  const backend = await backendFromUrl(flags.backend, keyRing(flags))
  // Loaded here, not at start-up: the server (Hono, prom-client, OpenTelemetry) is for `serve` alone,
  // and every other command, and a refused flag, answers without it.
  const { serveHaldir } = await import('../serve-haldir.ts')
  const running = await serveHaldir({
    backend,
    apiKeys,
    port: flags.port,
    hostname: flags.host,
    rateLimits: { perKey: flags.rateLimit, failedAuth: flags.authFailureLimit },
    trustProxyHops: flags.trustProxy,
    maxBodyBytes: flags.maxBodyBytes,
    bodyTimeoutMs: flags.bodyTimeout,
    headersTimeoutMs: flags.headersTimeout,
    requestTimeoutMs: flags.requestTimeout,
    keepAliveTimeoutMs: flags.keepAliveTimeout,
    shutdownTimeoutMs: flags.shutdownTimeout,
    publishTreeHeadsEveryMs: flags.publishTreeHeads,
    keyRegistry: registry,
    ...(flags.bootstrapToken ? { bootstrapToken: flags.bootstrapToken } : {}),
    demoKeys: flags.demoKeys ?? false,
    mcpUpstreams,
    metrics: flags.metrics,
    requestLog: flags.requestLog,
    webhooks: { allowPrivateTargets: flags.webhooksAllowPrivate ?? false },
  }).catch(async (error: unknown) => {
    await backend.close?.()
    throw listenFailure(error, { host: flags.host, port: flags.port })
  })
  const keyCount = apiKeys.size + registry.size
  console.log(`haldir listening on ${running.url} (backend: ${backend.name}, ${keyCount} API key${keyCount === 1 ? '' : 's'})`)
  if (backend.name !== 'memory' && !flags.mintedKeysFile) {
    console.error('haldir: note: keys minted through POST /v1/keys live in this process only; keep them across restarts with --minted-keys-file FILE')
  }
  if (backend.name === 'memory') {
    console.error('haldir: WARNING: the memory backend keeps sessions, budgets, the audit trail and secrets in this process only; they are lost when it stops. Use --backend postgres://… to keep them.')
  }
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

function readKeysFile(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ValidationError({ message: `--keys-file ${file} cannot be read (${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable')})`, cause: error })
  }
}
