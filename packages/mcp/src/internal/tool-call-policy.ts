import { DEFAULT_MAX_COST, resolveToolPolicy, usdToMicros, ValidationError } from '@haldir/core'
import { parseInput, scopeSchema } from '@haldir/core/backend'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { type McpToolCost, isArgumentCost } from '../mcp-tool-cost.ts'

/** The per-tool options of the MCP adapter and the proxy: the shared vocabulary, with {@link McpToolCost}s. */
export interface McpToolPolicyOptions<Result = CallToolResult> {
  /** The scope every unlisted tool needs; `null`: liveness and budget only. @default the tool's name */
  scope?: string | null
  /** The scope per tool name. */
  scopes?: Readonly<Record<string, string | null | undefined>>
  /** What a call of every unlisted tool costs. @default 0 */
  cost?: McpToolCost<Result>
  /** What a call costs, per tool name. */
  costs?: Readonly<Record<string, McpToolCost<Result> | undefined>>
  /**
   * Reserved before a tool priced by its result (a cost function); for a tool priced by its
   * arguments, the most one call may cost. @default 1 for a cost function, none otherwise
   */
  maxCost?: number
  maxCosts?: Readonly<Record<string, number | undefined>>
}

/** What one tool needs and costs, resolved once. */
export interface ToolCallPolicy<Result = CallToolResult> {
  scope: string | null
  cost: McpToolCost<Result>
  maxCost: number | undefined
}

/**
 * Resolves one tool's policy with core's rule (the map's entry, else the default, else the
 * tool's own name as its scope) and checks it, so a bad scope or cost fails at setup.
 */
export function toolCallPolicy<Result = CallToolResult>(name: string, options: McpToolPolicyOptions<Result>): ToolCallPolicy<Result> {
  checkMaps(options)
  // An argument cost is an object: core's resolver knows numbers and functions, so costs are resolved here.
  const resolved = resolveToolPolicy<never, never>(name, { scope: options.scope, scopes: options.scopes, maxCost: options.maxCost, maxCosts: options.maxCosts })
  const listed = options.costs !== undefined && Object.hasOwn(options.costs, name) && options.costs[name] !== undefined
  const cost = (listed ? options.costs?.[name] : options.cost) ?? 0
  const path = listed ? `costs.${name}` : 'cost'
  checkCost(cost, path)
  const scopeListed = options.scopes !== undefined && Object.hasOwn(options.scopes, name)
  const scope = resolved.scope === null ? null : parseInput(scopeSchema, resolved.scope, scopeListed ? `scopes.${name}` : options.scope === undefined ? `scope (the tool's name, '${name}')` : 'scope')
  const maxCost = resolved.maxCost ?? (typeof cost === 'function' ? DEFAULT_MAX_COST : undefined)
  if (maxCost !== undefined) usdToMicros(maxCost, options.maxCosts !== undefined && Object.hasOwn(options.maxCosts, name) ? `maxCosts.${name}` : 'maxCost')
  return { scope, cost, maxCost }
}

/** Checks the defaults (`scope`, `cost`, `maxCost`) on their own, for tools no map lists. */
export function checkPolicyDefaults<Result>(options: McpToolPolicyOptions<Result>): void {
  checkMaps(options)
  if (options.scope !== undefined && options.scope !== null) parseInput(scopeSchema, options.scope, 'scope')
  if (options.cost !== undefined) checkCost(options.cost, 'cost')
  if (options.maxCost !== undefined) usdToMicros(options.maxCost, 'maxCost')
}

function checkCost(cost: unknown, path: string): void {
  if (typeof cost === 'number') usdToMicros(cost, path)
  else if (isArgumentCost(cost)) {
    if (cost.argument.length === 0) throw new ValidationError({ issues: [{ path: `${path}.argument`, message: 'must name an argument' }] })
    if (cost.multiplier !== undefined) usdToMicros(cost.multiplier, `${path}.multiplier`)
  } else if (typeof cost !== 'function') {
    throw new ValidationError({ issues: [{ path, message: 'must be a number of USD, { argument } or a function' }] })
  }
}

function checkMaps<Result>(options: McpToolPolicyOptions<Result>): void {
  for (const map of ['scopes', 'costs', 'maxCosts'] as const) {
    const value = options[map]
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new ValidationError({ issues: [{ path: map, message: 'must be an object keyed by tool name' }] })
    }
  }
}
