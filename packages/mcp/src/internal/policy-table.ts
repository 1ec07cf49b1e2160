import { checkPolicyDefaults, type McpToolPolicyOptions, type ToolCallPolicy, toolCallPolicy } from './tool-call-policy.ts'

export interface PolicyTable<Result> {
  get(name: string): ToolCallPolicy<Result>
}

/**
 * Each tool's policy, resolved once and kept. The defaults and every tool the maps name are
 * checked up front, so a bad scope or cost fails when the options are given, not mid-call.
 */
export function createPolicyTable<Result>(options: McpToolPolicyOptions<Result>): PolicyTable<Result> {
  const table = new Map<string, ToolCallPolicy<Result>>()
  const get = (name: string): ToolCallPolicy<Result> => {
    let policy = table.get(name)
    if (policy === undefined) {
      policy = toolCallPolicy<Result>(name, options)
      table.set(name, policy)
    }
    return policy
  }
  checkPolicyDefaults(options)
  for (const map of [options.scopes, options.costs, options.maxCosts]) {
    if (typeof map === 'object' && map !== null) for (const name of Object.keys(map)) get(name)
  }
  return { get }
}
