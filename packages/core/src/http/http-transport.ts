/** One request/response exchange, reduced to what the backend needs. */
export type HttpTransport = (request: { method: string; url: string; headers: Record<string, string>; body: string | undefined; timeoutMs: number }) => Promise<{
  status: number
  text: string
}>

/** A transport over a `fetch` of the caller's choosing: any runtime. */
export function fetchTransport(doFetch: typeof fetch): HttpTransport {
  return async ({ method, url, headers, body, timeoutMs }) => {
    const response = await doFetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) })
    return { status: response.status, text: await response.text() }
  }
}
