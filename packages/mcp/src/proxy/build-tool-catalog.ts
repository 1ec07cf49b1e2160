import { ValidationError } from '@haldir/core'
import type { Tool } from '@modelcontextprotocol/sdk/types.js'
import { closestName } from '../internal/closest-name.ts'
import { type McpToolPolicyOptions, type ToolCallPolicy, toolCallPolicy } from '../internal/tool-call-policy.ts'
import type { Upstream } from './connect-upstream.ts'

/** The separator of a namespaced tool name: `<upstream>__<tool>`, as `@langchain/mcp-adapters` prefixes them. */
export const NAMESPACE_SEPARATOR = '__'

/** A tool the proxy serves: the name clients see, where it goes, and what it needs and costs. */
export interface ProxiedTool {
  /** The name clients see: the tool's own, or `<upstream>__<tool>` (see {@link buildToolCatalog}). */
  name: string
  /** Always `<upstream>__<tool>`; configuration may name a tool this way whether or not it clashes. */
  qualifiedName: string
  upstream: Upstream
  /** The tool as the upstream knows it. */
  upstreamName: string
  /** The upstream's definition under the served name. */
  definition: Tool
  policy: ToolCallPolicy
}

export interface ToolCatalogOptions {
  /** `'onClash'`: a tool keeps its own name unless two upstreams offer it; `'always'`: every name is namespaced. */
  namespace: 'onClash' | 'always'
  policy: McpToolPolicyOptions
  log: (line: string) => void
}

/**
 * The tools every upstream offers, under the names clients see. A tool keeps its own name
 * when it is the only one by that name; when two upstreams offer the same name, each becomes
 * `<upstream>__<tool>` (or every tool does, with `namespace: 'always'`). In `scopes`, `costs`
 * and `maxCosts` a tool may be named either way; the namespaced key wins. A tool whose policy
 * cannot be resolved (a name that is no valid scope, and no scope configured) is left out and logged.
 *
 * @throws ValidationError when two tools would still share a name
 */
export function buildToolCatalog(upstreams: readonly Upstream[], options: ToolCatalogOptions): Map<string, ProxiedTool> {
  const offered = new Map<string, number>()
  for (const upstream of upstreams) for (const tool of upstream.tools) offered.set(tool.name, (offered.get(tool.name) ?? 0) + 1)
  const catalog = new Map<string, ProxiedTool>()
  for (const upstream of upstreams) {
    for (const tool of upstream.tools) {
      const qualifiedName = `${upstream.name}${NAMESPACE_SEPARATOR}${tool.name}`
      const name = options.namespace === 'always' || (offered.get(tool.name) ?? 0) > 1 ? qualifiedName : tool.name
      const clash = catalog.get(name)
      if (clash) {
        throw new ValidationError({ issues: [{ path: 'upstreams', message: `tool '${name}' of upstream '${upstream.name}' clashes with '${clash.qualifiedName}': rename one, or set "namespace": "always"` }] })
      }
      let policy: ToolCallPolicy
      try {
        policy = toolCallPolicy(name, policyView(options.policy, name, qualifiedName))
      } catch (error) {
        options.log(`tool '${name}' left out: ${error instanceof Error ? error.message : String(error)}`)
        continue
      }
      catalog.set(name, { name, qualifiedName, upstream, upstreamName: tool.name, definition: { ...tool, name }, policy })
    }
  }
  return catalog
}

/**
 * Refuses policy keys that name no served tool: a misspelt key would otherwise leave its tool
 * at the default cost. Checked once, at startup.
 *
 * @throws ValidationError naming the key and the closest tool name
 */
export function checkPolicyKeys(catalog: ReadonlyMap<string, ProxiedTool>, policy: McpToolPolicyOptions): void {
  const known = new Set<string>()
  for (const tool of catalog.values()) known.add(tool.name).add(tool.qualifiedName)
  const issues: { path: string; message: string }[] = []
  for (const map of ['scopes', 'costs', 'maxCosts'] as const) {
    for (const key of Object.keys(policy[map] ?? {})) {
      if (known.has(key)) continue
      const suggestion = closestName(key, known)
      issues.push({ path: `${map}.${key}`, message: `names no tool of any upstream${suggestion ? ` (did you mean '${suggestion}'?)` : ''}` })
    }
  }
  if (issues.length > 0) throw new ValidationError({ issues })
}

/** The policy options as one tool sees them: its namespaced key, else its served name. */
function policyView(policy: McpToolPolicyOptions, name: string, qualifiedName: string): McpToolPolicyOptions {
  const pick = <Value>(map: Readonly<Record<string, Value>> | undefined): Record<string, Value> | undefined => {
    if (map === undefined) return undefined
    if (Object.hasOwn(map, qualifiedName)) return { [name]: map[qualifiedName] as Value }
    if (Object.hasOwn(map, name)) return { [name]: map[name] as Value }
    return {}
  }
  return { ...policy, scopes: pick(policy.scopes), costs: pick(policy.costs), maxCosts: pick(policy.maxCosts) }
}
