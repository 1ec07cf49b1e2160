// Upstream Haldir's client (`HaldirClient` of its Python SDK) in TypeScript, with nothing but
// `fetch`: what existing Haldir code does, pointed at `haldir serve` by changing the base URL.

/** A 403 from Haldir: a scope, a budget or a key refusal (the recipe's `HaldirPermissionError`). */
export class HaldirPermissionError extends Error {
  readonly status = 403
}

export class HaldirError extends Error {
  readonly status: number

  constructor(message: string, status: number) {
    super(message)
    this.status = status
  }
}

export interface AuditEntry {
  entry_id: string
  timestamp: number
  tool: string
  action: string
  cost_usd: number
  flagged: boolean
  flag_reason: string
}

export class HaldirClient {
  private readonly apiKey: string
  private readonly baseUrl: string

  constructor(apiKey: string, baseUrl: string) {
    this.apiKey = apiKey
    this.baseUrl = baseUrl.replace(/\/$/, '')
  }

  private async request<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const json = (await response.json()) as T & { error?: string; reason?: string }
    // As upstream's clients do: the message is `error`, else `reason`; the class comes from the status.
    if (response.status === 403) throw new HaldirPermissionError(json.error ?? json.reason ?? 'forbidden')
    if (response.status >= 400) throw new HaldirError(json.error ?? json.reason ?? `HTTP ${response.status}`, response.status)
    return json
  }

  createSession(agentId: string, options: { scopes?: string[]; ttl?: number; spendLimit?: number } = {}) {
    return this.request<{ session_id: string; scopes: string[]; spend_limit: number }>('POST', '/v1/sessions', {
      agent_id: agentId,
      ...(options.scopes ? { scopes: options.scopes } : {}),
      ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
      ...(options.spendLimit === undefined ? {} : { spend_limit: options.spendLimit }),
    })
  }

  getSession(sessionId: string) {
    return this.request<{ spent: number; remaining_budget: number; spend_limit: number }>('GET', `/v1/sessions/${sessionId}`)
  }

  checkPermission(sessionId: string, scope: string) {
    return this.request<{ allowed: boolean }>('POST', `/v1/sessions/${sessionId}/check`, { scope })
  }

  authorizePayment(sessionId: string, amount: number, options: { description?: string; idempotencyKey?: string } = {}) {
    return this.request<{ authorized: true; authorization_id: string; remaining_budget: number }>(
      'POST',
      '/v1/payments/authorize',
      { session_id: sessionId, amount, description: options.description ?? '' },
      options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
    )
  }

  logAction(sessionId: string, entry: { tool: string; action: string; costUsd?: number; details?: Record<string, unknown> }) {
    return this.request<{ logged: true; entry_id: string }>('POST', '/v1/audit', { session_id: sessionId, tool: entry.tool, action: entry.action, cost_usd: entry.costUsd ?? 0, details: entry.details ?? {} })
  }

  getSpend(query: { sessionId?: string; agentId?: string }) {
    const search = new URLSearchParams({ ...(query.sessionId ? { session_id: query.sessionId } : {}), ...(query.agentId ? { agent_id: query.agentId } : {}) })
    return this.request<{ total_usd: number; action_count: number; by_tool: Record<string, number> }>('GET', `/v1/audit/spend?${search}`)
  }

  getAuditTrail(query: { sessionId?: string; agentId?: string; limit?: number }) {
    const search = new URLSearchParams({ ...(query.sessionId ? { session_id: query.sessionId } : {}), ...(query.agentId ? { agent_id: query.agentId } : {}), limit: String(query.limit ?? 100) })
    return this.request<{ count: number; entries: AuditEntry[] }>('GET', `/v1/audit?${search}`)
  }

  revokeSession(sessionId: string) {
    return this.request<{ revoked: true }>('DELETE', `/v1/sessions/${sessionId}`)
  }

  storeSecret(name: string, value: string, scopeRequired = 'read') {
    return this.request<{ stored: true }>('POST', '/v1/secrets', { name, value, scope_required: scopeRequired })
  }

  async getSecret(name: string, sessionId: string): Promise<string> {
    return (await this.request<{ value: string }>('GET', `/v1/secrets/${encodeURIComponent(name)}`, undefined, { 'x-session-id': sessionId })).value
  }

  verifyAudit() {
    return this.request<{ verified: boolean; entries_checked: number }>('GET', '/v1/audit/verify')
  }
}
