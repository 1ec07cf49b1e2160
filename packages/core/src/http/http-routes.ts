/**
 * The wire API shared by `httpBackend` and `@haldir/server`: one route per backend operation,
 * JSON in and out, money in integer micro-dollars. Kept in one place so client and server
 * cannot drift.
 */
export const httpRoutes = {
  createSession: { method: 'POST', path: '/v1/sessions' },
  listSessions: { method: 'GET', path: '/v1/sessions' },
  getSession: { method: 'GET', path: '/v1/sessions/:sessionId' },
  authorize: { method: 'POST', path: '/v1/sessions/:sessionId/authorize' },
  settle: { method: 'POST', path: '/v1/sessions/:sessionId/holds/:holdId/settle' },
  appendAudit: { method: 'POST', path: '/v1/sessions/:sessionId/audit' },
  getSpend: { method: 'GET', path: '/v1/sessions/:sessionId/spend' },
  verifyAudit: { method: 'GET', path: '/v1/sessions/:sessionId/audit/verify' },
  revokeSession: { method: 'POST', path: '/v1/sessions/:sessionId/revoke' },
  queryAudit: { method: 'GET', path: '/v1/audit' },
  putSecret: { method: 'PUT', path: '/v1/secrets/:name' },
  readSecret: { method: 'POST', path: '/v1/secrets/:name/read' },
} as const

export type HttpOperation = keyof typeof httpRoutes
