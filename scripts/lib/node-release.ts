import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { mustRun } from './run-command.ts'

/**
 * The `node` binary of an exact Node.js release, installed from the npm registry (the `node`
 * package) into `folder`, as .ci/run provisions Node 24. Reused when already there.
 */
export async function nodeRelease(version: string, folder: string): Promise<string> {
  const prefix = join(folder, `node-${version}`)
  const binary = join(prefix, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(binary)) await mustRun('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', `node@${version}`], { timeoutMs: 300_000 })
  const { stdout } = await mustRun(binary, ['--version'])
  if (stdout.trim() !== `v${version}`) throw new Error(`expected Node v${version} at ${binary}, got ${stdout.trim()}`)
  return binary
}

/** The version a `>=X.Y.Z` engines range starts at. */
export function minimumOf(range: string | undefined, what: string): string {
  const match = /^>=\s*(\d+\.\d+\.\d+)$/.exec(range ?? '')
  if (!match?.[1]) throw new Error(`${what}: engines.node must be ">=X.Y.Z" (the version CI runs it on), found ${JSON.stringify(range)}`)
  return match[1]
}
