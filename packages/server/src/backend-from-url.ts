import { type HaldirBackend, memoryBackend, ValidationError } from '@haldir/core'

interface PostgresModule {
  postgresBackend(options: { connectionString: string; schema?: string }): HaldirBackend
}

/**
 * The backend named on the command line: `memory`, or a `postgres://` URL (needs
 * `@haldir/postgres` installed; keys from `HALDIR_MASTER_KEY` / `HALDIR_AUDIT_KEY`; a
 * `?schema=name` parameter picks the PostgreSQL schema, default `haldir`).
 */
export async function backendFromUrl(spec: string): Promise<HaldirBackend> {
  if (spec === 'memory') return memoryBackend()
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
    return module.postgresBackend({ connectionString: url.href, ...(schema ? { schema } : {}) })
  }
  throw new ValidationError({ issues: [{ path: 'backend', message: `expected 'memory' or a postgres:// URL, got '${redact(spec)}'` }] })
}

function redact(spec: string): string {
  return spec.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}
