import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { type AuditEntry, bundleLines, exportBundle, formatAuditEntry, type Haldir, microsToUsd, usdToMicros, ValidationError } from '@haldir/core'
import { errorFromJson } from '@haldir/core/backend'
import { type Command, Option } from 'commander'
import { wholeNumber } from '../cli-values.ts'
import { ledgerExportPath } from '../ledger-export-route.ts'
import { addClientOptions, type ClientFlags, openClient } from './client-flags.ts'

interface AuditFlags extends ClientFlags {
  session?: string
  agent?: string
  json?: boolean
}

interface ExportFlags extends ClientFlags {
  session?: string
  format: 'jsonl' | 'csv'
  out?: string
  earlierSize?: number
}

/** `haldir audit` (a trail, line by line) and `haldir audit export` (a bundle, streamed). */
export function auditCommand(haldir: Command): void {
  const audit = addClientOptions(haldir.command('audit').description('print a trail: one line per entry (time | tool | OK/BLOCKED | $cost)').enablePositionalOptions())
    .option('--session <id>', 'the trail of one session')
    .option('--agent <id>', 'the trail of one agent')
    .option('--json', 'print the entries as JSON')
    .action(async (flags: AuditFlags) => {
      if (!flags.session && !flags.agent) throw new ValidationError({ message: 'haldir audit needs --session ID or --agent ID (or: haldir audit export)' })
      process.exitCode = await printTrail(await openClient(flags), flags)
    })
  addClientOptions(
    audit
      .command('export')
      .description("write the tenant's (or one session's) ledger bundle, streamed: JSONL ends with the signed manifest `haldir verify --bundle` checks; CSV is for spreadsheets"),
  )
    .option('--session <id>', "one session's entries, each with its audit path (default: the whole tenant's log)")
    .addOption(new Option('--format <format>', 'jsonl or csv').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--out <file>', 'write to this file (default: standard output)')
    .addOption(
      new Option('--earlier-size <size>', 'the size of a head you kept: the manifest carries the proof that the log only grew since').argParser(wholeNumber('--earlier-size', { min: 1, max: Number.MAX_SAFE_INTEGER })),
    )
    .action(async (flags: ExportFlags) => {
      process.exitCode = await exportTrail(flags)
    })
}

async function printTrail(haldir: Haldir, flags: AuditFlags): Promise<number> {
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

/**
 * Streams the bundle to the file or to standard output. From a server it is the server's export
 * route, streamed through; from a store (`--backend`) it is built here, page by page. A failure
 * half-way removes the partial file (a bundle without its manifest would not verify anyway).
 */
async function exportTrail(flags: ExportFlags): Promise<number> {
  const source = flags.backend ? await localBundle(flags) : await serverBundle(flags)
  const target: Writable = flags.out ? createWriteStream(flags.out, { flags: 'w', mode: 0o600 }) : process.stdout
  try {
    await pipeline(source, target, { end: flags.out !== undefined })
  } catch (error) {
    if (flags.out) await rm(flags.out, { force: true })
    throw error
  }
  if (flags.out) console.error(`haldir: wrote the ${flags.session ? `bundle of session ${flags.session}` : "tenant's bundle"} to ${flags.out}`)
  return 0
}

async function localBundle(flags: ExportFlags): Promise<Readable> {
  const haldir = await openClient(flags)
  const lines = bundleLines(exportBundle(haldir, { ...(flags.session ? { sessionId: flags.session } : {}), ...(flags.earlierSize ? { earlierSize: flags.earlierSize } : {}) }), flags.format)
  return Readable.from(
    (async function* () {
      try {
        yield* lines
      } finally {
        await haldir.close()
      }
    })(),
  )
}

async function serverBundle(flags: ExportFlags): Promise<Readable> {
  if (!flags.key) throw new ValidationError({ message: 'an API key is needed: --key or HALDIR_API_KEY' })
  // The server's own base path is kept, as httpBackend keeps it.
  const url = new URL(flags.url.replace(/\/$/, '') + ledgerExportPath)
  url.searchParams.set('format', flags.format)
  if (flags.session) url.searchParams.set('sessionId', flags.session)
  if (flags.earlierSize) url.searchParams.set('earlierSize', String(flags.earlierSize))
  const response = await fetch(url, { headers: { authorization: `Bearer ${flags.key}` } })
  if (!response.ok || response.body === null) {
    const text = await response.text()
    let error: { code?: unknown; message?: unknown; data?: unknown } | undefined
    try {
      error = (JSON.parse(text) as { error?: typeof error }).error
    } catch {
      error = undefined
    }
    if (typeof error?.code === 'string' && typeof error.message === 'string') throw errorFromJson({ code: error.code, message: error.message, data: (error.data ?? {}) as Record<string, unknown> }, response.status)
    throw new Error(`the server answered ${response.status} to the export: ${text.slice(0, 200)}`)
  }
  return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>)
}
