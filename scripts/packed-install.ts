// Installs Haldir as a user would, from the published artifacts, outside this workspace (CI runs
// it after `pnpm build`; `node scripts/packed-install.ts` runs it by hand):
//   1. packs every package and lints each tarball (publint --strict, @arethetypeswrong/cli);
//   2. installs all the tarballs with npm into a fresh project in the temp folder, with the peers;
//   3. runs each package README's marked snippet there, on this Node and on the package's
//      minimum Node (its engines), so the documented minimum is the one that works;
//   4. runs the conformance suite from the packed @haldir/core/testing against the packed memory
//      backend and a packed `@haldir/server` on loopback;
//   5. checks the Node-version messages: the repository's (scripts/check-node.cjs) and the
//      `haldir` command's, on a Node too old for them and on their minimum.
// Old Node releases come from the npm registry (the `node` package) into the temp folder.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { minimumOf, nodeRelease } from './lib/node-release.ts'
import { readmeSnippets } from './lib/readme-snippets.ts'
import { mustRun, runCommand } from './lib/run-command.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'haldir-packed-'))
const tarballs = join(work, 'tarballs')
const app = join(work, 'app')
const releases = join(work, 'node-releases')
const started = Date.now()
const log = (line: string) => console.log(`packed-install: ${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
const bin = (name: string) => join(root, 'node_modules', '.bin', name)

interface Manifest {
  name: string
  version: string
  engines?: { node?: string }
  dependencies?: Record<string, string>
  devDependencies?: Record<string, string>
}
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T

// The peers a user installs beside the packages, at the ranges this workspace tests with.
const PEERS = ['ai', 'zod', '@langchain/core', 'langchain', 'pg', '@modelcontextprotocol/sdk', '@modelcontextprotocol/server-everything', 'vitest', '@opentelemetry/api']
// The repository's own Node minimum is checked on this older release, and the packed `haldir` command on it too.
const TOO_OLD_NODE = '20.19.0'

const packages = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'package.json')))

async function pack(): Promise<Map<string, string>> {
  for (const name of packages) {
    if (!existsSync(join(root, 'packages', name, 'dist'))) throw new Error(`packages/${name}/dist is missing: run pnpm build first`)
  }
  await mustRun('pnpm', ['-r', '--filter', './packages/*', 'pack', '--pack-destination', tarballs], { cwd: root })
  const files = new Map<string, string>()
  for (const file of readdirSync(tarballs)) files.set(file.replace(/^haldir-(.+)-\d+\.\d+\.\d+.*\.tgz$/, '$1'), join(tarballs, file))
  for (const name of packages) if (!files.has(name)) throw new Error(`no tarball for packages/${name}`)
  return files
}

async function lint(files: Map<string, string>): Promise<void> {
  for (const [name, file] of files) {
    await mustRun(bin('publint'), ['run', file, '--strict', '--level', 'suggestion'], { cwd: work })
    // ESM only, on purpose: node10 and require() resolutions are not published.
    await mustRun(bin('attw'), [file, '--profile', 'esm-only', '--format', 'ascii'], { cwd: work })
    log(`${name}: publint and attw are clean`)
  }
}

function peerRange(name: string): string {
  for (const manifest of [join(root, 'package.json'), ...packages.map((name) => join(root, 'packages', name, 'package.json'))]) {
    const range = readJson<Manifest>(manifest).devDependencies?.[name]
    if (range && !range.startsWith('workspace:')) return range
  }
  throw new Error(`no devDependency on ${name} in the workspace to take its version from`)
}

async function install(files: Map<string, string>): Promise<void> {
  mkdirSync(app, { recursive: true })
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'haldir-packed-app', private: true, type: 'module' }, null, 2)}\n`)
  const specs = [...files.values(), ...PEERS.map((name) => `${name}@${peerRange(name)}`)]
  await mustRun('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd: app, timeoutMs: 600_000 })
}

async function postgresReachable(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: 5432 })
    socket.setTimeout(2000)
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('timeout', () => (socket.destroy(), resolve(false)))
    socket.once('error', () => resolve(false))
  })
}

async function runSnippets(): Promise<void> {
  const hasPostgres = await postgresReachable()
  const env = { ...process.env, HALDIR_MASTER_KEY: 'b'.repeat(64), NO_COLOR: '1' }
  for (const name of packages) {
    const snippets = readmeSnippets(readFileSync(join(root, 'packages', name, 'README.md'), 'utf8'))
    if (snippets.length === 0) throw new Error(`packages/${name}/README.md has no snippet marked to run`)
    if (name === 'postgres' && !hasPostgres) {
      if (process.env.HALDIR_REQUIRE_POSTGRES === '1') throw new Error('HALDIR_REQUIRE_POSTGRES is set but no PostgreSQL answers at 127.0.0.1:5432')
      log('postgres: README snippet SKIPPED, no PostgreSQL at 127.0.0.1:5432')
      continue
    }
    const minimum = minimumOf(readJson<Manifest>(join(app, 'node_modules', '@haldir', name, 'package.json')).engines?.node, `@haldir/${name}`)
    const nodes = [process.execPath, await nodeRelease(minimum, releases)]
    for (const [index, snippet] of snippets.entries()) {
      // Type annotations out (esbuild), so a Node without type stripping runs it too.
      const { code } = await esbuild.transform(snippet, { loader: 'ts', format: 'esm' })
      const file = join(app, `readme-${name}-${index + 1}.mjs`)
      writeFileSync(file, code)
      for (const node of nodes) {
        const run = await runCommand(node, [file], { cwd: app, env, timeoutMs: 120_000 })
        if (run.code !== 0) throw new Error(`the README snippet ${index + 1} of @haldir/${name} failed on ${node}:\n${run.stdout}\n${run.stderr}`)
      }
    }
    log(`${name}: ${snippets.length} README snippet(s) ran on Node ${process.versions.node} and on its minimum, ${minimum}`)
  }
}

async function conformance(): Promise<void> {
  writeFileSync(
    join(app, 'conformance.test.mjs'),
    `// The conformance suite as a third party runs it: from the packed @haldir/core/testing.
import { httpBackend, memoryBackend } from '@haldir/core'
import { memoryAuditTamper, testBackend, testClock } from '@haldir/core/testing'
import { apiKeyStore, createApiKey, serveHaldir } from '@haldir/server'

testBackend({
  name: 'memory (packed)',
  hooks: ['tamper', 'otherTenant', 'clock'],
  setup() {
    const clock = testClock()
    const backend = memoryBackend({ now: clock.now })
    return { backend, otherTenant: backend, tamper: memoryAuditTamper(backend), clock }
  },
})

let running
testBackend({
  name: 'http → packed server (memory)',
  hooks: ['tamper', 'otherTenant', 'clock'],
  async setup() {
    const clock = testClock()
    const state = memoryBackend({ now: clock.now })
    const [a, b, c] = [createApiKey(), createApiKey(), createApiKey()]
    running = await serveHaldir({
      backend: state,
      apiKeys: apiKeyStore([{ tenant: 'a', role: 'admin', key: a }, { tenant: 'b', role: 'admin', key: b }, { tenant: 'c', role: 'admin', key: c }]),
      rateLimits: { perKey: false },
      port: 0,
    })
    return {
      backend: httpBackend({ url: running.url, apiKey: a }),
      otherTenant: httpBackend({ url: running.url, apiKey: b }),
      spareTenant: httpBackend({ url: running.url, apiKey: c }),
      tamper: memoryAuditTamper(state),
      clock,
      tenants: { own: 'a', other: 'b' },
    }
  },
  teardown: () => running?.close(),
})
`,
  )
  const run = await runCommand(join(app, 'node_modules', '.bin', 'vitest'), ['run', '--root', app, 'conformance.test.mjs'], { cwd: app, env: { ...process.env, NO_COLOR: '1' }, timeoutMs: 600_000 })
  const summary = /Tests\s+(.+)/.exec(run.stdout)?.[1] ?? ''
  if (run.code !== 0) throw new Error(`the packed conformance suite failed:\n${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`)
  log(`conformance suite from the packed @haldir/core/testing: ${summary.trim()}`)
}

async function nodeVersionMessages(): Promise<void> {
  const tooOld = await nodeRelease(TOO_OLD_NODE, releases)
  // The repository: build, test and demo stop with a message naming the version.
  const repoMinimum = minimumOf(readJson<Manifest>(join(root, 'package.json')).engines?.node, 'the repository')
  const refused = await runCommand(tooOld, [join(root, 'scripts', 'check-node.cjs')])
  if (refused.code !== 1 || !refused.stderr.includes(`needs Node.js ${repoMinimum} or later`) || !refused.stderr.includes(`this is Node v${TOO_OLD_NODE}`)) {
    throw new Error(`scripts/check-node.cjs on Node ${TOO_OLD_NODE} should refuse with a message, got ${refused.code}:\n${refused.stderr}`)
  }
  // On the minimum itself: accepted, and the demo runs there (TypeScript straight from node).
  const atMinimum = await nodeRelease(repoMinimum, releases)
  await mustRun(atMinimum, [join(root, 'scripts', 'check-node.cjs')])
  await mustRun(atMinimum, ['src/main.ts'], { cwd: join(root, 'examples', 'crew-governance'), env: { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' } })
  log(`repository: Node ${TOO_OLD_NODE} gets the message, Node ${repoMinimum} runs the demo`)
  // The `haldir` command: a message before anything loads, then the real CLI on its minimum.
  const haldir = join(app, 'node_modules', '@haldir', 'server', readJson<{ bin: Record<string, string> }>(join(app, 'node_modules', '@haldir', 'server', 'package.json')).bin.haldir as string)
  const serverMinimum = minimumOf(readJson<Manifest>(join(app, 'node_modules', '@haldir', 'server', 'package.json')).engines?.node, '@haldir/server')
  const old = await runCommand(tooOld, [haldir, '--version'])
  if (old.code !== 1 || !old.stderr.includes(`haldir needs Node.js ${serverMinimum} or later`)) throw new Error(`haldir on Node ${TOO_OLD_NODE} should refuse with a message, got ${old.code}:\n${old.stdout}${old.stderr}`)
  const current = await mustRun(await nodeRelease(serverMinimum, releases), [haldir, '--version'])
  if (current.stdout.trim() !== readJson<Manifest>(join(app, 'node_modules', '@haldir', 'server', 'package.json')).version) throw new Error(`haldir --version printed ${current.stdout}`)
  log(`haldir: Node ${TOO_OLD_NODE} gets the message, Node ${serverMinimum} runs it`)
}

try {
  log(`working in ${work}`)
  const files = await pack()
  log(`packed ${files.size} packages`)
  await lint(files)
  await install(files)
  log('installed every tarball with npm, with the peers')
  await runSnippets()
  await conformance()
  await nodeVersionMessages()
  log('all good')
} finally {
  if (process.env.HALDIR_KEEP_PACKED !== '1') rmSync(work, { recursive: true, force: true })
  else log(`kept ${work}`)
}
