import { ValidationError } from '@haldir/core'
import { jsonSchema, type Tool, tool, type ToolSet } from 'ai'

/** The part of a LangChain tool (`tool()`, `StructuredTool`) a crew needs; no LangChain import. */
export interface LangChainToolLike {
  name: string
  description: string
  schema: unknown
  invoke(input: unknown): Promise<unknown>
}

/** An agent's tools: an AI SDK tool set, LangChain tools, or both. */
export type CrewTools = ToolSet | readonly (LangChainToolLike | ToolSet)[]

/**
 * Normalises an agent's tools to one AI SDK tool set: LangChain tools keep their name,
 * description and schema and run through their own `invoke` (so their parsing and callbacks apply).
 */
export function toToolSet(tools: CrewTools | undefined): ToolSet {
  if (tools === undefined) return {}
  if (!Array.isArray(tools)) return tools as ToolSet
  const set: ToolSet = {}
  for (const item of tools) {
    if (isLangChainTool(item)) set[item.name] = fromLangChain(item)
    else Object.assign(set, item)
  }
  return set
}

function isLangChainTool(value: unknown): value is LangChainToolLike {
  return typeof value === 'object' && value !== null && typeof (value as LangChainToolLike).name === 'string' && typeof (value as LangChainToolLike).invoke === 'function'
}

function fromLangChain(lc: LangChainToolLike): Tool {
  const schema = lc.schema as { _zod?: unknown; '~standard'?: unknown } | Record<string, unknown>
  if (typeof schema !== 'object' || schema === null) {
    throw new ValidationError({ issues: [{ path: `tools.${lc.name}`, message: 'has no schema' }] })
  }
  // Zod 4 (and any Standard Schema) is taken as is; a plain JSON Schema is wrapped.
  const inputSchema = '_zod' in schema || '~standard' in schema ? (schema as never) : jsonSchema(schema as never)
  return tool({
    description: lc.description,
    inputSchema,
    execute: async (input: unknown) => {
      const output = await lc.invoke(input)
      return typeof output === 'string' ? output : (JSON.parse(JSON.stringify(output ?? null)) as unknown)
    },
  })
}
