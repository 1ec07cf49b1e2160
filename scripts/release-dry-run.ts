// Rehearses a release on a copy of the repository (CI runs it after `pnpm build`): the pending
// changesets are applied (`changeset version`), every package must come out with a new version
// and a changelog, the packed manifests must name each other at those versions, and
// `pnpm publish --dry-run` must accept every package. Nothing is published and the working tree
// is not touched. The copy uses changesets' plain changelog: @changesets/changelog-github (the
// real one) asks GitHub's API for each entry's pull request and needs a GITHUB_TOKEN.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { mustRun } from './lib/run-command.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const copy = mkdtempSync(join(tmpdir(), 'haldir-release-'))
const started = Date.now()
const log = (line: string) => console.log(`release-dry-run: ${line} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T
const packages = readdirSync(join(root, 'packages')).filter((name) => existsSync(join(root, 'packages', name, 'package.json')))

interface Manifest {
  name: string
  version: string
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

async function copyRepository(): Promise<void> {
  // What git would check out (tracked and new, not ignored files) and the builds; the copy gets
  // an install of its own (from pnpm's store), so packing resolves `workspace:` ranges to the
  // copy's versions.
  const { stdout } = await mustRun('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root })
  for (const file of stdout.split('\0').filter(Boolean)) {
    if (existsSync(join(root, file))) cpSync(join(root, file), join(copy, file), { recursive: true })
  }
  for (const name of packages) {
    if (!existsSync(join(root, 'packages', name, 'dist'))) throw new Error(`packages/${name}/dist is missing: run pnpm build first`)
    cpSync(join(root, 'packages', name, 'dist'), join(copy, 'packages', name, 'dist'), { recursive: true })
  }
  await mustRun('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--filter', './packages/*', '--filter', '.'], { cwd: copy, timeoutMs: 600_000 })
  const config = join(copy, '.changeset', 'config.json')
  writeFileSync(config, JSON.stringify({ ...readJson<Record<string, unknown>>(config), changelog: '@changesets/cli/changelog' }, null, 2))
}

async function version(): Promise<Map<string, string>> {
  const pending = readdirSync(join(copy, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md')
  if (pending.length === 0) throw new Error('no pending changeset: nothing would be released')
  await mustRun(join(copy, 'node_modules', '.bin', 'changeset'), ['version'], { cwd: copy })
  const versions = new Map<string, string>()
  for (const name of packages) {
    const manifest = readJson<Manifest>(join(copy, 'packages', name, 'package.json'))
    const before = readJson<Manifest>(join(root, 'packages', name, 'package.json')).version
    if (manifest.version === before) throw new Error(`${manifest.name} stays at ${before}: no changeset releases it`)
    if (!readFileSync(join(copy, 'packages', name, 'CHANGELOG.md'), 'utf8').includes(`## ${manifest.version}`)) throw new Error(`${manifest.name}: CHANGELOG.md has no ${manifest.version} section`)
    versions.set(manifest.name, manifest.version)
  }
  const left = readdirSync(join(copy, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md')
  if (left.length > 0) throw new Error(`changesets left after versioning: ${left.join(', ')}`)
  log(`changeset version: ${[...versions].map(([name, next]) => `${name}@${next}`).join(', ')}`)
  return versions
}

async function publishDryRun(versions: Map<string, string>): Promise<void> {
  const packs = join(copy, 'tarballs')
  await mustRun('pnpm', ['-r', '--filter', './packages/*', 'pack', '--pack-destination', packs], { cwd: copy })
  for (const file of readdirSync(packs)) {
    const { stdout } = await mustRun('tar', ['-xzOf', join(packs, file), 'package/package.json'])
    const manifest = JSON.parse(stdout) as Manifest
    for (const [dependency, range] of Object.entries({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      if (range.startsWith('workspace:')) throw new Error(`${manifest.name} publishes ${dependency}@${range}`)
      const released = versions.get(dependency)
      if (released && !range.endsWith(released)) throw new Error(`${manifest.name} depends on ${dependency}@${range}, not the released ${released}`)
    }
  }
  const published = await mustRun('pnpm', ['-r', '--filter', './packages/*', 'publish', '--dry-run', '--no-git-checks'], { cwd: copy, timeoutMs: 300_000 })
  const output = published.stdout + published.stderr
  for (const [name, next] of versions) if (!output.includes(`${name}@${next}`)) throw new Error(`pnpm publish --dry-run did not get to ${name}@${next}:\n${output}`)
  log(`pnpm publish --dry-run accepts all ${versions.size} packages; their manifests name each other at the released versions`)
}

try {
  await copyRepository()
  log(`copied the repository to ${copy}`)
  await publishDryRun(await version())
  log('all good')
} finally {
  rmSync(copy, { recursive: true, force: true })
}
