import { codedError } from './haldir-api-error.ts'

/** The resources upstream's API-key scopes name (`HALDIR-API.md` §2.1). */
export const keyScopeResources = ['sessions', 'vault', 'audit', 'payments', 'webhooks', 'proxy', 'approvals', 'admin'] as const

/** `*`, or `<resource>:<read|write|*>`. */
export type KeyScope = '*' | `${(typeof keyScopeResources)[number]}:${'read' | 'write' | '*'}`

/**
 * Whether granted key scopes cover a required one: `*` covers everything; otherwise an exact
 * match, `<resource>:*`, or `<resource>:write` for `<resource>:read`. Nothing else.
 */
export function keyScopesCover(granted: readonly string[], required: string): boolean {
  const [resource] = required.split(':')
  for (const scope of granted) {
    if (scope === '*' || scope === required || scope === `${resource}:*`) return true
    if (required === `${resource}:read` && scope === `${resource}:write`) return true
  }
  return false
}

/**
 * Reads the scopes of a key being minted, in any of upstream's forms: a JSON array of strings, a
 * comma-separated string, or a string holding a JSON array; entries trimmed, empty ones dropped.
 * Absent, `null` or blank: `['*']`. An explicit empty list, an unknown resource or action, or a
 * missing colon is a 400 `invalid_scope`. The result keeps the request's order (what the
 * minting answer shows); keys store and list them sorted, without duplicates.
 */
export function parseKeyScopes(input: unknown): KeyScope[] {
  const refuse = (message: string) => codedError(400, 'invalid_scope', message)
  let list: unknown = input
  if (input === undefined || input === null || (typeof input === 'string' && input.trim() === '')) return ['*']
  if (typeof input === 'string') {
    const text = input.trim()
    if (text.startsWith('[')) {
      try {
        list = JSON.parse(text)
      } catch {
        throw refuse('scopes is not a valid JSON array')
      }
    } else list = text.split(',')
  }
  if (!Array.isArray(list)) throw refuse('scopes must be a list of strings or a comma-separated string')
  const scopes: string[] = []
  for (const entry of list) {
    if (typeof entry !== 'string') throw refuse('every scope must be a string')
    const scope = entry.trim()
    if (scope) scopes.push(scope)
  }
  if (scopes.length === 0) throw refuse('scope list is empty; pass ["*"] for wildcard')
  for (const scope of scopes) {
    if (scope === '*') continue
    const colon = scope.indexOf(':')
    if (colon < 0) throw refuse(`scope '${scope.slice(0, 60)}' must be '*' or '<resource>:<action>'`)
    const resource = scope.slice(0, colon)
    const action = scope.slice(colon + 1)
    if (!(keyScopeResources as readonly string[]).includes(resource)) throw refuse(`unknown resource '${resource.slice(0, 40)}' (resources: ${keyScopeResources.join(', ')})`)
    if (action !== 'read' && action !== 'write' && action !== '*') throw refuse(`unknown action '${action.slice(0, 40)}' (actions: read, write, *)`)
  }
  return scopes as KeyScope[]
}
