import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import type { TreeHead } from '@haldir/core'
import { treeHeadSchema, ValidationError } from '@haldir/core/backend'
import { z } from 'zod'

/** The last head this CLI accepted for one log, and when. */
export interface SeenHead {
  head: TreeHead
  seenAt: string
}

const stateSchema = z.object({ version: z.literal(1), logs: z.record(z.string(), z.object({ head: treeHeadSchema, seenAt: z.string() })) })
type State = z.infer<typeof stateSchema>

/**
 * Where `haldir verify` keeps the last signed tree head it accepted for each log:
 * `--state-file`, else `HALDIR_STATE_FILE`, else `$XDG_STATE_HOME/haldir/tree-heads.json`
 * (`~/.local/state/haldir/tree-heads.json` without `XDG_STATE_HOME`).
 */
export function defaultStateFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HALDIR_STATE_FILE) return env.HALDIR_STATE_FILE
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'haldir', 'tree-heads.json')
}

/**
 * Which log a head belongs to: a server URL with the API key's SHA-256 prefix (a key decides the
 * tenant; the key itself is never written down), or a store with its tenant.
 */
export function logIdentity(target: { url: string; key: string } | { backend: string; tenant: string }): string {
  if ('url' in target) return `${target.url.replace(/\/$/, '')}#key:${createHash('sha256').update(target.key).digest('hex').slice(0, 16)}`
  return `${target.backend.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}#tenant:${target.tenant}`
}

/** The state file: read whole, written whole (to a temporary file, then renamed over it, so a crash never leaves half a file). */
export function treeHeadState(file: string): { seen(log: string): SeenHead | null; remember(log: string, head: TreeHead, at?: Date): void } {
  const read = (): State => {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, logs: {} }
      throw new ValidationError({ message: `the state file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, cause: error })
    }
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (error) {
      throw new ValidationError({ message: `the state file ${file} is not JSON: fix or remove it (it holds the last tree heads this CLI accepted)`, cause: error })
    }
    const parsed = stateSchema.safeParse(json)
    // A state file that does not parse is refused, never silently reset: a reset would accept any log as new.
    if (!parsed.success) throw new ValidationError({ message: `the state file ${file} is not a haldir tree-head state (${parsed.error.issues[0]?.message ?? 'bad shape'}): fix or remove it` })
    return parsed.data
  }
  return {
    seen: (log) => read().logs[log] ?? null,
    remember(log, head, at = new Date()) {
      const state = read()
      state.logs[log] = { head, seenAt: at.toISOString() }
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
      const temporary = `${file}.${process.pid}.tmp`
      writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
      renameSync(temporary, file)
    },
  }
}
