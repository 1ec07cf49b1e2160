import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHaldir, httpBackend } from '@haldir/core'
import { createApiKey } from '@haldir/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundle, platformConditions } from './bundle.test-helper.ts'

// The runtime matrix (issue 17): the same governed AI SDK tool call, through `haldir serve` on
// loopback and in memory, on Node, Bun, Deno, Vercel's edge-runtime and Cloudflare's workerd.
// The runtimes come from npm (this example's devDependencies). Where one cannot be installed
// (an unsupported platform) its test is skipped with a warning; with HALDIR_REQUIRE_RUNTIMES=1
// (CI) a missing runtime fails instead.

const require = createRequire(import.meta.url)
const folder = fileURLToPath(new URL('..', import.meta.url))
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
const binary = (name: string) => join(folder, 'node_modules', '.bin', name)

function unavailable(runtime: string, probe: () => boolean): string | false {
  let reason: string | false = false
  try {
    if (!probe()) reason = `${runtime} is not installed for ${process.platform}-${process.arch} (pnpm install brings it where npm has a build)`
  } catch (error) {
    reason = `${runtime} cannot start here: ${error instanceof Error ? error.message : String(error)}`
  }
  if (reason === false) return false
  if (process.env.HALDIR_REQUIRE_RUNTIMES === '1') throw new Error(`HALDIR_REQUIRE_RUNTIMES is set but ${reason}`)
  console.warn(`\n[haldir] runtime test SKIPPED: ${reason}\n`)
  return reason
}

const runs = (command: string, args: string[]) => () => spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 }).status === 0
const missing = {
  bun: unavailable('Bun', runs(binary('bun'), ['--version'])),
  deno: unavailable('Deno', runs(binary('deno'), ['--version'])),
  workerd: unavailable('workerd', () => {
    // miniflare's own workerd (the platform binary its dependency brought).
    const workerd = (createRequire(require.resolve('miniflare'))('workerd') as { default: string }).default
    return existsSync(workerd) && runs(workerd, ['--version'])()
  }),
}

// What every runtime must report: the search ran and was charged $0.01, sendEmail was refused,
// two model calls of 1000 + 100 tokens at $3/$15 per million cost $0.0045 each, and the chain
// verifies. The vault opened for the session in scope and refused the other; the tree head
// verified with the ledger's public key.
const governed = {
  toolResults: [{ query: 'haldir', hits: 3 }],
  text: 'Found 3 hits; I may not send email.',
  spentUsd: 0.019,
  byTool: { model: 0.009, search: 0.01 },
  auditEntries: 8,
  auditVerified: true,
  blocked: 1,
}
const expected = { http: governed, memory: governed, vault: { secretRead: true, secretRefused: true, treeSize: 12, treeHeadVerified: true } }

let server: ChildProcess | undefined
let url = ''
const apiKey = createApiKey()
// The runtimes use an agent's key (least privilege); the test counts sessions with an auditor's.
const auditorKey = createApiKey()

/** Sessions the server holds for the governed call's agent: each runtime's run adds one. */
async function serverSessions(): Promise<number> {
  const haldir = createHaldir({ backend: httpBackend({ url, apiKey: auditorKey }) })
  const sessions = (await haldir.backend.listSessions?.({ tenant: 'runtimes', limit: 1000 })) ?? []
  return sessions.filter((session) => session.agentId === 'edge-agent').length
}

async function expectRun(run: () => Promise<unknown>): Promise<void> {
  const before = await serverSessions()
  expect(await run()).toEqual(expected)
  expect(await serverSessions()).toBe(before + 1)
}

function runCli(command: string, args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, cli, url, apiKey], { cwd: folder, env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${command} exited with ${code}:\n${err}`))
      else resolve(JSON.parse(out))
    })
  })
}

beforeAll(async () => {
  const serverCli = join(dirname(require.resolve('@haldir/server/package.json')), 'src', 'cli.ts')
  server = spawn(process.execPath, ['--conditions=@haldir/source', serverCli, 'serve', '--port', '0', '--backend', 'memory'], {
    env: { ...process.env, HALDIR_API_KEYS: `runtimes:agent=${apiKey},runtimes:auditor=${auditorKey}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  server.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  server.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  for (let waited = 0; !url; waited += 25) {
    if (waited > 20_000) throw new Error(`haldir serve did not start:\n${output}`)
    url = /listening on (http:\/\/\S+)/.exec(output)?.[1] ?? ''
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
})
afterAll(() => {
  server?.kill('SIGTERM')
})

describe('a governed AI SDK tool call, through haldir serve and in memory', () => {
  it('on Node', () => expectRun(() => runCli(process.execPath, ['--conditions=@haldir/source'])))

  it.skipIf(missing.bun)('on Bun', () => expectRun(() => runCli(binary('bun'), ['--conditions=@haldir/source'])))

  // The AI SDK's gateway reads the host name at load time, hence --allow-sys=hostname; Haldir
  // itself needs only the network (and reads no environment without --allow-env).
  it.skipIf(missing.deno)('on Deno', () => expectRun(() => runCli(binary('deno'), ['run', '--conditions=@haldir/source', '--allow-net=127.0.0.1', '--allow-read', '--allow-sys=hostname'])))

  it("on Vercel's edge-runtime", async () => {
    const { EdgeRuntime } = await import('edge-runtime')
    const edge = await bundle("import handler from './edge.ts'; addEventListener('fetch', (event) => event.respondWith(handler(event.request)))", {
      conditions: platformConditions.edge,
      format: 'iife',
    })
    const runtime = new EdgeRuntime({ initialCode: edge.code })
    await expectRun(async () => {
      const response = await runtime.dispatchFetch(`http://edge.test/?server=${encodeURIComponent(url)}`, { headers: { 'x-haldir-key': apiKey } })
      return response.json()
    })
  })

  it.skipIf(missing.workerd)("on Cloudflare's workerd (miniflare)", async () => {
    const { Miniflare } = await import('miniflare')
    const worker = await bundle("export { default } from './worker.ts'", { conditions: platformConditions.workerd, format: 'esm' })
    // No nodejs_compat flag: the Worker runs on web APIs alone.
    const miniflare = new Miniflare({ modules: true, script: worker.code, compatibilityDate: '2026-07-30', bindings: { HALDIR_URL: url, HALDIR_API_KEY: apiKey } })
    try {
      await expectRun(async () => (await miniflare.dispatchFetch('http://worker.test/')).json())
    } finally {
      await miniflare.dispose()
    }
  })
})
