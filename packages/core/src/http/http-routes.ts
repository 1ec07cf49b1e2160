import type { HaldirBackend } from '../backend/haldir-backend.ts'
import { backendRequestSchemas } from '../schemas.ts'

/** How a query-string value is read back into the request (the query carries only strings). */
export type QueryField = 'string' | 'number' | 'boolean'

export interface HttpRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  path: string
  /** Members of the request carried in the path. */
  params: readonly string[]
  /** Where the other members travel: a JSON body, or the query string (typed by this map). */
  input: { in: 'body' } | { in: 'query'; fields: Readonly<Record<string, QueryField>> }
  /** Fills members a client may leave out, before validation. */
  defaults?: Readonly<Record<string, unknown>>
  /** The request schema (without the tenant, which the API key decides). */
  schema: (typeof backendRequestSchemas)[keyof typeof backendRequestSchemas]
  status: 200 | 201
  /** How the backend's answer travels: as is, as `{ value }`, or as `{ ok: true }` for no answer. */
  answer: 'json' | 'value' | 'ok'
  /**
   * When the client may repeat the request after a failure without risking a second effect:
   * reads and closing a hold are safe always; the gate only with an idempotency key.
   */
  retry: 'always' | 'never' | 'with-idempotency-key'
  /**
   * A batch: the body member whose items each count as one request against the key's rate limit
   * (and the tenant's usage), so sending operations together never stretches a limit.
   */
  countsItemsOf?: string
}

/** Every operation of the backend contract that travels over HTTP. */
// `subscribe` is a stream of its own (server-sent events), not a request and an answer.
export type HttpOperation = Exclude<keyof HaldirBackend, 'contractVersion' | 'name' | 'close' | 'publishTreeHeads' | 'subscribe' | 'defaultSettle'>

const body = { in: 'body' } as const
// A GET whose only members are in the path.
const none = { in: 'query', fields: {} } as const

/**
 * Where our own wire API lives. The server speaks the upstream Haldir REST API at its root
 * (`/v1/…`, for upstream's SDKs and integrations); ours sits beside it under this prefix, so
 * the two never collide.
 */
export const NATIVE_API_PREFIX = '/native'

/**
 * The wire API shared by `httpBackend` and `@haldir/server`: one route per backend operation,
 * JSON in and out, money in integer micro-dollars, every path under {@link NATIVE_API_PREFIX}.
 * The client builds requests from it and the server registers its handlers from it, so the two
 * cannot drift.
 */
export const httpRoutes: Readonly<Record<HttpOperation, HttpRoute>> = underPrefix(NATIVE_API_PREFIX, {
  createSession: { method: 'POST', path: '/v1/sessions', params: [], input: body, schema: backendRequestSchemas.createSession, status: 201, answer: 'json', retry: 'never' },
  listSessions: {
    method: 'GET',
    path: '/v1/sessions',
    params: [],
    input: { in: 'query', fields: { limit: 'number' } },
    defaults: { limit: 100 },
    schema: backendRequestSchemas.listSessions,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  getSession: { method: 'GET', path: '/v1/sessions/:sessionId', params: ['sessionId'], input: none, schema: backendRequestSchemas.session, status: 200, answer: 'json', retry: 'always' },
  authorize: {
    method: 'POST',
    path: '/v1/sessions/:sessionId/authorize',
    params: ['sessionId'],
    input: body,
    schema: backendRequestSchemas.authorize,
    status: 200,
    answer: 'json',
    retry: 'with-idempotency-key',
  },
  // Concurrent callers' gates in one request. Never repeated after a failure: a gate without an
  // idempotency key may have been decided (a client sends gates with keys on their own).
  authorizeMany: {
    method: 'POST',
    path: '/v1/authorizations',
    params: [],
    input: body,
    schema: backendRequestSchemas.authorizeMany,
    status: 200,
    answer: 'json',
    retry: 'never',
    countsItemsOf: 'authorizations',
  },
  settle: {
    method: 'POST',
    path: '/v1/sessions/:sessionId/holds/:holdId/settle',
    params: ['sessionId', 'holdId'],
    input: body,
    schema: backendRequestSchemas.settle,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  // Each settle is idempotent per hold, so the batch is too.
  settleMany: { method: 'POST', path: '/v1/settles', params: [], input: body, schema: backendRequestSchemas.settleMany, status: 200, answer: 'json', retry: 'always' },
  appendAudit: { method: 'POST', path: '/v1/sessions/:sessionId/audit', params: ['sessionId'], input: body, schema: backendRequestSchemas.appendAudit, status: 201, answer: 'json', retry: 'never' },
  getSpend: { method: 'GET', path: '/v1/sessions/:sessionId/spend', params: ['sessionId'], input: none, schema: backendRequestSchemas.session, status: 200, answer: 'json', retry: 'always' },
  verifyAudit: {
    method: 'GET',
    path: '/v1/sessions/:sessionId/audit/verify',
    params: ['sessionId'],
    input: none,
    schema: backendRequestSchemas.session,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  revokeSession: {
    method: 'POST',
    path: '/v1/sessions/:sessionId/revoke',
    params: ['sessionId'],
    input: body,
    defaults: { reason: null },
    schema: backendRequestSchemas.revokeSession,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  queryAudit: {
    method: 'GET',
    path: '/v1/audit',
    params: [],
    input: { in: 'query', fields: { sessionId: 'string', agentId: 'string', outcome: 'string', flagged: 'boolean', limit: 'number', offset: 'number' } },
    defaults: { sessionId: null, agentId: null, outcome: null, flagged: null, limit: 1000, offset: 0 },
    schema: backendRequestSchemas.queryAudit,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  putSecret: {
    method: 'PUT',
    path: '/v1/secrets/:name',
    params: ['name'],
    input: body,
    defaults: { scopeRequired: null },
    schema: backendRequestSchemas.putSecret,
    status: 200,
    answer: 'ok',
    retry: 'always',
  },
  readSecret: { method: 'POST', path: '/v1/secrets/:name/read', params: ['name'], input: body, schema: backendRequestSchemas.readSecret, status: 200, answer: 'value', retry: 'never' },
  listHolds: {
    method: 'GET',
    path: '/v1/holds',
    params: [],
    input: { in: 'query', fields: { sessionId: 'string', limit: 'number' } },
    defaults: { sessionId: null, limit: 1000 },
    schema: backendRequestSchemas.listHolds,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  releaseHold: {
    method: 'POST',
    path: '/v1/holds/:holdId/release',
    params: ['holdId'],
    input: body,
    defaults: { reason: null },
    schema: backendRequestSchemas.releaseHold,
    status: 200,
    answer: 'json',
    retry: 'never',
  },
  treeHead: { method: 'GET', path: '/v1/ledger/head', params: [], input: none, schema: backendRequestSchemas.tenant, status: 200, answer: 'json', retry: 'always' },
  inclusionProof: {
    method: 'GET',
    path: '/v1/ledger/entries/:entryId/proof',
    params: ['entryId'],
    input: { in: 'query', fields: { treeSize: 'number' } },
    defaults: { treeSize: null },
    schema: backendRequestSchemas.inclusionProof,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  consistencyProof: {
    method: 'GET',
    path: '/v1/ledger/consistency',
    params: [],
    input: { in: 'query', fields: { first: 'number', second: 'number' } },
    schema: backendRequestSchemas.consistencyProof,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  treeHeads: {
    method: 'GET',
    path: '/v1/ledger/heads',
    params: [],
    input: { in: 'query', fields: { sinceSize: 'number', limit: 'number' } },
    defaults: { sinceSize: 0, limit: 1000 },
    schema: backendRequestSchemas.treeHeads,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  ledgerKeys: { method: 'GET', path: '/v1/ledger/keys', params: [], input: none, schema: backendRequestSchemas.tenant, status: 200, answer: 'json', retry: 'always' },
  ledgerPage: {
    method: 'GET',
    path: '/v1/ledger/leaves',
    params: [],
    input: { in: 'query', fields: { from: 'number', limit: 'number' } },
    defaults: { from: 0, limit: 1000 },
    schema: backendRequestSchemas.ledgerPage,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  verifyLedger: {
    method: 'POST',
    path: '/v1/ledger/verify',
    params: [],
    input: body,
    defaults: { earlierHead: null },
    schema: backendRequestSchemas.verifyLedger,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  getApproval: { method: 'GET', path: '/v1/approvals/:approvalId', params: ['approvalId'], input: none, schema: backendRequestSchemas.approval, status: 200, answer: 'json', retry: 'always' },
  listApprovals: {
    method: 'GET',
    path: '/v1/approvals',
    params: [],
    input: { in: 'query', fields: { status: 'string', sessionId: 'string', limit: 'number' } },
    defaults: { status: null, sessionId: null, limit: 100 },
    schema: backendRequestSchemas.listApprovals,
    status: 200,
    answer: 'json',
    retry: 'always',
  },
  // A decision is final: repeating it after a lost answer gets `approval_decided`, never a second decision.
  decideApproval: {
    method: 'POST',
    path: '/v1/approvals/:approvalId/decision',
    params: ['approvalId'],
    input: body,
    defaults: { note: null },
    schema: backendRequestSchemas.decideApproval,
    status: 200,
    answer: 'json',
    retry: 'never',
  },
  addApprovalRule: { method: 'POST', path: '/v1/approval-rules', params: [], input: body, schema: backendRequestSchemas.addApprovalRule, status: 201, answer: 'json', retry: 'never' },
  listApprovalRules: { method: 'GET', path: '/v1/approval-rules', params: [], input: none, schema: backendRequestSchemas.tenant, status: 200, answer: 'json', retry: 'always' },
  removeApprovalRule: {
    method: 'DELETE',
    path: '/v1/approval-rules/:ruleId',
    params: ['ruleId'],
    input: none,
    schema: backendRequestSchemas.removeApprovalRule,
    status: 200,
    answer: 'ok',
    retry: 'always',
  },
  // Releasing what expired twice releases nothing the second time.
  sweepHolds: { method: 'POST', path: '/v1/holds/sweep', params: [], input: body, defaults: { limit: 1000 }, schema: backendRequestSchemas.sweepHolds, status: 200, answer: 'json', retry: 'always' },
  listSecrets: { method: 'GET', path: '/v1/secrets', params: [], input: none, schema: backendRequestSchemas.tenant, status: 200, answer: 'json', retry: 'always' },
  // A repeat after a lost answer would report the secret as missing: not retried.
  deleteSecret: { method: 'DELETE', path: '/v1/secrets/:name', params: ['name'], input: none, schema: backendRequestSchemas.deleteSecret, status: 200, answer: 'ok', retry: 'never' },
})

function underPrefix<Routes extends Record<string, HttpRoute>>(prefix: string, routes: Routes): Readonly<Routes> {
  return Object.fromEntries(Object.entries(routes).map(([operation, route]) => [operation, { ...route, path: prefix + route.path }])) as unknown as Readonly<Routes>
}

/** Reads query-string values back into typed request members; an unreadable value is kept as text for the schema to refuse. */
export function decodeQuery(fields: Readonly<Record<string, QueryField>>, query: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, type] of Object.entries(fields)) {
    const text = query[name]
    if (text === undefined) continue
    if (type === 'number') out[name] = text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text
    else if (type === 'boolean') out[name] = text === 'true' ? true : text === 'false' ? false : text
    else out[name] = text
  }
  return out
}
