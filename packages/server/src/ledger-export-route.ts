import { bundleLines, createHaldir, exportBundle, type HaldirBackend } from '@haldir/core'
import { idSchema, NATIVE_API_PREFIX, parseInput } from '@haldir/core/backend'
import type { Hono, MiddlewareHandler } from 'hono'
import { z } from 'zod'
import type { ApiKeyIdentity } from './api-keys.ts'
import { authorizeRole } from './route-roles.ts'
import { streamLines } from './stream-lines.ts'
import type { ServerEnv } from './server-env.ts'

/** Where the ledger export is served (beside the route table: it streams, it is not one backend call). */
export const ledgerExportPath = `${NATIVE_API_PREFIX}/v1/ledger/export`

const exportQuery = z.strictObject({
  format: z.enum(['jsonl', 'csv']).default('jsonl'),
  sessionId: idSchema.optional(),
  earlierSize: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
})

const contentTypes = { jsonl: 'application/x-ndjson; charset=utf-8', csv: 'text/csv; charset=utf-8' } as const

/**
 * `GET /v1/ledger/export`: the tenant's (or one session's) bundle, streamed as it is read, page
 * by page (`exportBundle` → `bundleLines`): memory stays bounded at any size, and the body is
 * pulled only as fast as the client reads it. JSONL ends with the manifest and its signed head,
 * which is what `verifyBundle` / `haldir verify --bundle` check offline; CSV carries the entries
 * only (for spreadsheets). The first line is produced before the answer starts, so an unknown
 * session or a backend failure is an ordinary error answer; a failure later cuts the stream,
 * and a bundle without its manifest never verifies.
 */
export function mountLedgerExport(
  app: Hono<ServerEnv>,
  {
    backend,
    guard,
    refuseNarrowedKey,
    path = ledgerExportPath,
  }: { backend: HaldirBackend; guard: MiddlewareHandler<ServerEnv>; refuseNarrowedKey: (identity: ApiKeyIdentity, operation: string) => void; path?: string },
): void {
  app.get(path, guard, async (c) => {
    const { tenant, role } = c.get('identity')
    refuseNarrowedKey(c.get('identity'), 'exportLedger')
    authorizeRole(role, 'exportLedger')
    const query = parseInput(exportQuery, c.req.query())
    authorizeRole(role, 'exportLedger', query)
    const haldir = createHaldir({ backend, tenant })
    const lines = bundleLines(exportBundle(haldir, { ...(query.sessionId ? { sessionId: query.sessionId } : {}), ...(query.earlierSize ? { earlierSize: query.earlierSize } : {}) }), query.format)
    const body = await streamLines(lines)
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
    // Ids may hold any text; the file name keeps only what a header and a file system take as is.
    const name = [tenant, query.sessionId, stamp].filter(Boolean).join('-').replace(/[^A-Za-z0-9._-]/g, '_')
    return c.body(body, 200, {
      'Content-Type': contentTypes[query.format],
      'Content-Disposition': `attachment; filename="haldir-ledger-${name}.${query.format}"`,
      'X-Accel-Buffering': 'no',
    })
  })
}
