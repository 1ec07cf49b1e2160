#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { type AuditEntry, createHaldir, formatAuditEntry, type Haldir, HaldirError, httpBackend, microsToUsd, usdToMicros, ValidationError } from '@haldir/core'
import { Command, Option } from 'commander'
import { apiKeyRoleDescriptions, apiKeyRoles, type ApiKeyRole } from './api-key-role.ts'
import { apiKeyStore, createApiKey, hashApiKey, parseApiKeys } from './api-keys.ts'
import { registerApprovalCommands } from './cli-approvals.ts'
import { backendFromUrl } from './backend-from-url.ts'
import { closestMatch } from './closest-match.ts'
import { listenFailure, parseDuration, parseHost, parsePort, parseRateLimit, parseTenant, parseUrl, wholeNumber } from './cli-values.ts'
import { defaultRateLimits, type RateLimitWindow } from './rate-limits.ts'
import { serveHaldir } from './serve-haldir.ts'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

interface ServeFlags {
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
}

interface ReadFlags {
  session?: string
  agent?: string
  url: string
  key?: string
  backend?: string
  tenant: string
  json?: boolean
}

const asFlag = (limit: RateLimitWindow) => `${limit.points}/${limit.durationSeconds}s`

function parseRole(text: string): ApiKeyRole {
  if ((apiKeyRoles as readonly string[]).includes(text)) return text as ApiKeyRole
  const nearest = closestMatch(text, apiKeyRoles)
  throw new ValidationError({ message: `--role must be one of ${apiKeyRoles.join(', ')}${nearest ? ` (did you mean ${nearest}?)` : ''}, got '${text.slice(0, 40)}'` })
}

function program(): Command {
  const haldir = new Command('haldir')
    .description('The Haldir server and audit tools.')
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError()
    // One prefix for every refusal, commander's own ("unknown option …") and ours.
    .configureOutput({ outputError: (text, write) => write(`haldir: ${text.replace(/^error: /, '')}`) })
    .addHelpText('after', '\nRun `haldir COMMAND --help` for the flags of a command.')

  haldir
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
    .action(async (flags: ServeFlags) => {
      process.exitCode = await serve(flags)
    })

  const keys = haldir.command('keys').description('manage API keys')
  keys
    .command('create')
    .description('print a new API key (once) and the line that configures it')
    .addOption(new Option('--tenant <name>', 'the tenant the key acts for (its sessions, secrets and audit)').makeOptionMandatory().argParser(parseTenant))
    .addOption(
      new Option('--role <role>', `what the key may do: ${apiKeyRoles.map((role) => `${role} (${apiKeyRoleDescriptions[role]})`).join('; ')}`).makeOptionMandatory().argParser(parseRole),
    )
    .action((flags: { tenant: string; role: ApiKeyRole }) => {
      const key = createApiKey()
      // Validated like a configured key, so what is printed is what the server will accept.
      apiKeyStore([{ tenant: flags.tenant, role: flags.role, key }])
      console.log(`API key (shown once): ${key}`)
      console.log(`role: ${flags.role} (${apiKeyRoleDescriptions[flags.role]})`)
      console.log(`configure the server with: ${flags.tenant}:${flags.role}=${hashApiKey(key)}`)
    })

  const connect = (command: Command) =>
    command
      .addOption(new Option('--url <url>', 'the Haldir server').default('http://127.0.0.1:8787').env('HALDIR_URL').argParser(parseUrl))
      .addOption(new Option('--key <key>', 'an API key (auditor, approver, admin; or agent for a --session)').env('HALDIR_API_KEY'))
      .addOption(new Option('--backend <spec>', 'read the store directly (memory or postgres://…) instead of a server'))
      .addOption(new Option('--tenant <name>', 'with --backend: the tenant to read').default('default').argParser(parseTenant))
  const readCommand = (name: string, description: string) => connect(haldir.command(name).description(description))
  readCommand('audit', 'print a trail: one line per entry (time | tool | OK/BLOCKED | $cost)')
    .option('--session <id>', 'the trail of one session')
    .option('--agent <id>', 'the trail of one agent')
    .option('--json', 'print the entries as JSON')
    .action(async (flags: ReadFlags) => {
      if (!flags.session && !flags.agent) throw new ValidationError({ message: 'haldir audit needs --session ID or --agent ID' })
      process.exitCode = await audit(await client(flags), flags)
    })
  readCommand('verify', "check a session's hash chain: exit 0 intact, 2 broken")
    .requiredOption('--session <id>', 'the session')
    .action(async (flags: ReadFlags & { session: string }) => {
      process.exitCode = await verify(await client(flags), flags.session)
    })
  registerApprovalCommands(haldir, connect, client)
  return haldir
}

async function serve(flags: ServeFlags): Promise<number> {
  const keysText = flags.keysFile ? readKeysFile(flags.keysFile) : (process.env.HALDIR_API_KEYS ?? '')
  const apiKeys = apiKeyStore(parseApiKeys(keysText))
  if (apiKeys.size === 0) throw new Error('no API keys: set HALDIR_API_KEYS or pass --keys-file (create one with `haldir keys create --tenant NAME --role ROLE`)')
  const backend = await backendFromUrl(flags.backend)
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
  }).catch(async (error: unknown) => {
    await backend.close?.()
    throw listenFailure(error, { host: flags.host, port: flags.port })
  })
  console.log(`haldir listening on ${running.url} (backend: ${backend.name}, ${apiKeys.size} API key${apiKeys.size === 1 ? '' : 's'})`)
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

async function client(flags: ReadFlags): Promise<Haldir> {
  if (flags.backend) return createHaldir({ backend: await backendFromUrl(flags.backend), tenant: flags.tenant })
  if (!flags.key) throw new ValidationError({ message: 'an API key is needed: --key or HALDIR_API_KEY' })
  return createHaldir({ backend: httpBackend({ url: flags.url, apiKey: flags.key }) })
}

async function audit(haldir: Haldir, flags: ReadFlags): Promise<number> {
  const entries: AuditEntry[] = []
  for (let offset: number | null = 0; offset !== null; ) {
    const page = await haldir.getAuditTrail({ sessionId: flags.session, agentId: flags.agent, offset, limit: 1000 })
    entries.push(...page.entries)
    offset = page.nextOffset
  }
  if (flags.json) {
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

async function verify(haldir: Haldir, sessionId: string): Promise<number> {
  const result = await haldir.verifyAuditTrail(sessionId)
  await haldir.close()
  if (result.ok) {
    console.log(`ok: ${result.count} entries, chain intact`)
    return 0
  }
  console.log(`BROKEN at entry ${result.brokenAt} (${result.reason}): ${result.message}`)
  return 2
}

program()
  .parseAsync(process.argv)
  .then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      console.error(`haldir: ${HaldirError.isInstance(error) || error instanceof Error ? error.message : String(error)}`)
      process.exit(1)
    },
  )
