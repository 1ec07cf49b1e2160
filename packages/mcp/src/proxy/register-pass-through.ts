import type { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  McpError,
  type Prompt,
  ReadResourceRequestSchema,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js'
import { NAMESPACE_SEPARATOR } from './build-tool-catalog.ts'
import type { Upstream } from './connect-upstream.ts'

export interface PassThroughOptions {
  /** The upstreams whose resources (and prompts) the configuration passes through. */
  resources: readonly Upstream[]
  prompts: readonly Upstream[]
  /** Rejects when the connection's session is no longer live. */
  ensureLive: () => Promise<void>
  timeoutMs: number
}

/**
 * Serves the upstreams' resources read-only (list, templates, read; no subscriptions) and
 * their prompts (list, get), for a live session only. Nothing here is charged or audited: a
 * resource read is data, like a tool result, so it is off unless an upstream turns it on.
 * Resources are routed by the URI their upstream listed; prompts are named like tools
 * (`<upstream>__<prompt>` when two upstreams offer the same name).
 */
export function registerPassThrough(server: Server, options: PassThroughOptions): void {
  const { ensureLive, timeoutMs } = options
  const request = { timeout: timeoutMs }
  const owners = new Map<string, Upstream>()

  if (options.resources.length > 0) {
    server.setRequestHandler(ListResourcesRequestSchema, async () => {
      await ensureLive()
      const resources: Resource[] = []
      for (const upstream of options.resources) {
        const client = await upstream.client()
        let cursor: string | undefined
        do {
          const page = await client.listResources(cursor === undefined ? undefined : { cursor }, request)
          for (const resource of page.resources) owners.set(resource.uri, upstream)
          resources.push(...page.resources)
          cursor = page.nextCursor
        } while (cursor !== undefined)
      }
      return { resources }
    })
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => {
      await ensureLive()
      const resourceTemplates: ResourceTemplate[] = []
      for (const upstream of options.resources) resourceTemplates.push(...(await (await upstream.client()).listResourceTemplates(undefined, request)).resourceTemplates)
      return { resourceTemplates }
    })
    server.setRequestHandler(ReadResourceRequestSchema, async (read) => {
      await ensureLive()
      const uri = read.params.uri
      // A URI nobody listed (one from a template) goes to the only resource upstream, if there is one.
      const owner = owners.get(uri) ?? (options.resources.length === 1 ? options.resources[0] : undefined)
      if (!owner) throw new McpError(ErrorCode.InvalidParams, `Unknown resource ${uri}: list resources first`)
      return (await owner.client()).readResource({ uri }, request)
    })
  }

  if (options.prompts.length > 0) {
    const named = async (): Promise<Map<string, { upstream: Upstream; prompt: Prompt }>> => {
      const listed: { upstream: Upstream; prompt: Prompt }[] = []
      for (const upstream of options.prompts) for (const prompt of (await (await upstream.client()).listPrompts(undefined, request)).prompts) listed.push({ upstream, prompt })
      const count = new Map<string, number>()
      for (const { prompt } of listed) count.set(prompt.name, (count.get(prompt.name) ?? 0) + 1)
      return new Map(listed.map((entry) => [(count.get(entry.prompt.name) ?? 0) > 1 ? `${entry.upstream.name}${NAMESPACE_SEPARATOR}${entry.prompt.name}` : entry.prompt.name, entry]))
    }
    server.setRequestHandler(ListPromptsRequestSchema, async () => {
      await ensureLive()
      return { prompts: [...(await named())].map(([name, { prompt }]) => ({ ...prompt, name })) }
    })
    server.setRequestHandler(GetPromptRequestSchema, async (get) => {
      await ensureLive()
      const entry = (await named()).get(get.params.name)
      if (!entry) throw new McpError(ErrorCode.InvalidParams, `Unknown prompt ${get.params.name}`)
      return (await entry.upstream.client()).getPrompt({ name: entry.prompt.name, ...(get.params.arguments ? { arguments: get.params.arguments } : {}) }, request)
    })
  }
}
