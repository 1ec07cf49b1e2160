/** The dashboard API's errors, with the server's code (`forbidden`, `unauthorized` …) for the page to explain. */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export interface Me {
  tenant: string
  role: 'admin' | 'auditor' | 'approver' | 'agent'
  csrfToken: string
  can: { approve: boolean; revoke: boolean; keys: boolean }
}

const BASE = '/dashboard/api'
// Held in memory only: the CSRF token goes in a header on every change, and is re-read from /me after a reload.
let csrfToken = ''

async function answer<T>(response: Response): Promise<T> {
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } }
  if (!response.ok) throw new ApiError(response.status, body.error?.code ?? 'error', body.error?.message ?? `HTTP ${response.status}`)
  return body as T
}

/** A GET of the dashboard API, with its query built from the defined values of `query`. */
export async function get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') search.set(name, String(value))
  const suffix = search.size > 0 ? `?${search}` : ''
  return answer<T>(await fetch(`${BASE}${path}${suffix}`, { credentials: 'same-origin' }))
}

/** A POST of the dashboard API, carrying the CSRF token. */
export async function post<T>(path: string, body: unknown = {}): Promise<T> {
  return answer<T>(
    await fetch(`${BASE}${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-haldir-csrf': csrfToken },
      body: JSON.stringify(body),
    }),
  )
}

/** Signs in: the key goes to the server once, as a bearer header, and comes back as an HTTP-only cookie. */
export async function signIn(apiKey: string): Promise<Me> {
  const me = await answer<Me>(await fetch(`${BASE}/sign-in`, { method: 'POST', credentials: 'same-origin', headers: { authorization: `Bearer ${apiKey}` } }))
  csrfToken = me.csrfToken
  return me
}

/** Who is signed in (by the cookie), or `null`. */
export async function currentUser(): Promise<Me | null> {
  try {
    const me = await get<Me>('/me')
    csrfToken = me.csrfToken
    return me
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null
    throw error
  }
}

export const exportUrl = (sessionId?: string) => `${BASE}/export?format=jsonl${sessionId ? `&sessionId=${encodeURIComponent(sessionId)}` : ''}`
