/**
 * Whether a granted scope pattern allows a requested scope: exact match, a trailing wildcard
 * (`db:*` allows `db:write`), or `*` for everything.
 */
export function scopeMatches(granted: string, requested: string): boolean {
  if (granted === requested || granted === '*') return true
  return granted.endsWith('*') && requested.startsWith(granted.slice(0, -1))
}

/** Whether any of the granted scopes allows the requested one. */
export function scopesAllow(granted: readonly string[], requested: string): boolean {
  for (const pattern of granted) if (scopeMatches(pattern, requested)) return true
  return false
}
