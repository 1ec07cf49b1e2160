import { type HaldirBackend, memoryBackend, ValidationError } from '@haldir/core'
import type { KeyRing } from './commands/key-ring-flags.ts'

interface PostgresModule {
  postgresBackend(options: { connectionString: string; schema?: string } & KeyRing): HaldirBackend
}

/**
 * The backend named on the command line: `memory`, or a `postgres://` URL (needs
 * `@haldir/postgres` installed; keys from `HALDIR_MASTER_KEY` / `HALDIR_AUDIT_KEY`; a
 * `?schema=name` parameter picks the PostgreSQL schema, default `haldir`). `keyRing` adds the
 * previous keys of a rotation (the backend reads `HALDIR_PREVIOUS_*` itself when it is empty).
 */
export async function backendFromUrl(spec: string, keyRing: KeyRing = {}): Promise<HaldirBackend> {
  if (spec === 'memory') return memoryBackend(keyRing)
  if (/^postgres(ql)?:\/\//.test(spec)) {
    // A variable specifier: the PostgreSQL backend is optional and loaded only when asked for.
    const name = '@haldir/postgres'
    let module: PostgresModule
    try {
      module = (await import(name)) as PostgresModule
    } catch (error) {
      throw new ValidationError({ message: `--backend ${redact(spec)} needs @haldir/postgres: pnpm add @haldir/postgres pg`, cause: error })
    }
    const url = new URL(spec)
    const schema = url.searchParams.get('schema') ?? undefined
    url.searchParams.delete('schema')
    return module.postgresBackend({ connectionString: url.href, ...(schema ? { schema } : {}), ...keyRing })
  }
  throw new ValidationError({ issues: [{ path: 'backend', message: `expected 'memory' or a postgres:// URL, got '${redact(spec)}'` }] })
}

function redact(spec: string): string {
  return spec.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}
