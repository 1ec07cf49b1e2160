import { createHaldir, type Haldir, type HaldirBackend, httpBackend, ValidationError } from '@haldir/core'
import type { BackendConfig } from './proxy-config.ts'

interface PostgresModule {
  postgresBackend(options: { connectionString: string; schema?: string }): HaldirBackend
}

/**
 * The Haldir client the configuration's `backend` names: `memory` (in the proxy's process),
 * the URL of a `haldir serve` (its API key from `apiKey` or `HALDIR_API_KEY`; the key decides
 * the tenant), or a `postgres://` URL (needs `@haldir/postgres` and `pg` installed, and
 * `HALDIR_MASTER_KEY`; `?schema=name` picks the schema, default `haldir`).
 */
export async function haldirFromConfig(backend: BackendConfig, env: Record<string, string | undefined> = process.env): Promise<Haldir> {
  const { url, apiKey, tenant } = typeof backend === 'string' ? { url: backend, apiKey: undefined, tenant: undefined } : backend
  if (url === 'memory') return createHaldir({ ...(tenant ? { tenant } : {}) })
  if (/^https?:\/\//.test(url)) {
    if (tenant !== undefined) throw new ValidationError({ issues: [{ path: 'backend.tenant', message: "a haldir server's API key decides the tenant: remove tenant" }] })
    const key = apiKey ?? env.HALDIR_API_KEY
    if (!key) throw new ValidationError({ issues: [{ path: 'backend.apiKey', message: 'is required for a haldir server (or set HALDIR_API_KEY)' }] })
    return createHaldir({ backend: httpBackend({ url, apiKey: key }) })
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    if (apiKey !== undefined) throw new ValidationError({ issues: [{ path: 'backend.apiKey', message: 'applies to a haldir server URL only' }] })
    // A variable specifier: the PostgreSQL backend is an optional peer, loaded only when configured.
    const name = '@haldir/postgres'
    let module: PostgresModule
    try {
      module = (await import(name)) as PostgresModule
    } catch (error) {
      throw new ValidationError({ message: 'backend: a postgres:// backend needs @haldir/postgres and pg: pnpm add @haldir/postgres pg', cause: error })
    }
    const connection = new URL(url)
    const schema = connection.searchParams.get('schema') ?? undefined
    connection.searchParams.delete('schema')
    return createHaldir({ backend: module.postgresBackend({ connectionString: connection.href, ...(schema ? { schema } : {}) }), ...(tenant ? { tenant } : {}) })
  }
  throw new ValidationError({ issues: [{ path: 'backend', message: "expected 'memory', a postgres:// URL or a haldir server's http(s):// URL" }] })
}
