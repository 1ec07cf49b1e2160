import { ValidationError } from '@haldir/core'
import { isTenantName } from './api-keys.ts'
import type { RateLimitWindow } from './rate-limits.ts'

// The command line's value parsers: each refuses a bad value with a plain sentence naming the
// flag (commander passes it through to `haldir: <message>`), never a Node internal message.

const refuse = (message: string) => new ValidationError({ message })

/** `--port`: an integer 0…65535 (0 picks a free port). */
export function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!(port >= 0 && port <= 65_535)) throw refuse(`--port must be an integer between 0 and 65535, got '${text.slice(0, 40)}'`)
  return port
}

/** A whole number within bounds, for flags such as `--trust-proxy` and `--max-body-bytes`. */
export function wholeNumber(flag: string, { min, max }: { min: number; max: number }): (text: string) => number {
  return (text) => {
    const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN
    if (!(Number.isSafeInteger(value) && value >= min && value <= max)) throw refuse(`${flag} must be an integer between ${min} and ${max}, got '${text.slice(0, 40)}'`)
    return value
  }
}

const unitMs = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const

/** A duration such as `500ms`, `10s`, `2m` or `1h`, in milliseconds (at least 1 ms, at most a day). */
export function parseDuration(flag: string): (text: string) => number {
  return (text) => {
    const match = /^\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(text)
    const value = match ? Number(match[1]) * unitMs[match[2] as keyof typeof unitMs] : Number.NaN
    if (!(value >= 1 && value <= 86_400_000)) throw refuse(`${flag} must be a duration like 500ms, 10s, 2m or 1h (at most 24h), got '${text.slice(0, 40)}'`)
    return value
  }
}

/** A rate limit: `off`, or `N/DURATION` (`6000/1m`, `30/60s`) with a whole number of seconds. */
export function parseRateLimit(flag: string): (text: string) => RateLimitWindow | false {
  return (text) => {
    if (text.trim() === 'off') return false
    const match = /^\s*(\d+)\s*\/\s*(\d+\s*(?:ms|s|m|h))\s*$/.exec(text)
    const points = match ? Number(match[1]) : Number.NaN
    let durationMs = Number.NaN
    try {
      if (match) durationMs = parseDuration(flag)(match[2] as string)
    } catch {
      durationMs = Number.NaN
    }
    if (!(Number.isSafeInteger(points) && points >= 1 && durationMs >= 1_000 && durationMs % 1_000 === 0)) {
      throw refuse(`${flag} must be 'off' or COUNT/DURATION with whole seconds, like 6000/1m or 30/60s, got '${text.slice(0, 40)}'`)
    }
    return { points, durationSeconds: durationMs / 1_000 }
  }
}

/** `--tenant`: a name a key can be configured for. */
export function parseTenant(text: string): string {
  if (isTenantName(text)) return text
  throw refuse(`--tenant must be 1–64 letters, digits, '.', '_' or '-' (not starting with a symbol), got '${String(text).slice(0, 40)}'`)
}

/** `--url`: an http(s) URL. */
export function parseUrl(text: string): string {
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw refuse(`--url must be an http:// or https:// URL, got '${text.slice(0, 60)}'`)
  return text
}

/** `--host`: an IP address or a host name (whether this machine has it is checked on listening). */
export function parseHost(text: string): string {
  if (!/^(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$|^[0-9A-Fa-f:.]+$/.test(text)) throw refuse(`--host must be an IP address or a host name, got '${text.slice(0, 60)}'`)
  return text
}

/** A plain sentence for a failure to start listening (the port is taken, the host is not ours …). */
export function listenFailure(error: unknown, { host, port }: { host: string; port: number }): Error {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  if (code === 'EADDRINUSE') return refuse(`--port ${port} is already in use on ${host}`)
  if (code === 'EACCES') return refuse(`--port ${port} needs privileges this process does not have (use a port above 1023)`)
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return refuse(`--host ${host} is not an address of this machine`)
  return error instanceof Error ? error : new Error(String(error))
}
