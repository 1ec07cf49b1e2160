import type { LanguageModelV4Content, LanguageModelV4StreamPart } from '@ai-sdk/provider'
import { MockLanguageModelV4 } from 'ai/test'

/** One model turn: call tools, or answer. */
export type ScriptedTurn = { toolCalls: { tool: string; input: Record<string, unknown> }[] } | { text: string }

export interface ScriptedModelOptions {
  /** Tokens reported per call. @default { inputTokens: 500, outputTokens: 120 } */
  usage?: { inputTokens: number; outputTokens: number }
  /** @default 'scripted-model' */
  modelId?: string
}

/**
 * An offline AI SDK model for crews: it recognises which agent is calling (from the crew's
 * system prompt, `You are <role>.`) and plays that role's turns in order, then answers
 * `Done.`. Tests and the demo run whole crews with it, no network needed.
 *
 * @example
 * scriptedModel({ researcher: [{ toolCalls: [{ tool: 'webSearch', input: { query: 'x' } }] }, { text: 'Findings …' }] })
 */
export function scriptedModel(script: Record<string, ScriptedTurn[]>, options: ScriptedModelOptions = {}) {
  const positions = new Map<string, number>()
  const usage = options.usage ?? { inputTokens: 500, outputTokens: 120 }
  let callCount = 0
  const next = (prompt: { role: string; content: unknown }[]) => {
    const system = prompt.find((message) => message.role === 'system')
    const role = typeof system?.content === 'string' ? (/^You are ([^.\n]+)\./.exec(system.content)?.[1] ?? '') : ''
    const position = positions.get(role) ?? 0
    positions.set(role, position + 1)
    const turn = script[role]?.[position] ?? { text: 'Done.' }
    callCount++
    const content: LanguageModelV4Content[] =
      'text' in turn
        ? [{ type: 'text', text: turn.text }]
        : turn.toolCalls.map((call, order) => ({ type: 'tool-call', toolCallId: `${role}_${position}_${order}_${callCount}`, toolName: call.tool, input: JSON.stringify(call.input) }))
    return {
      content,
      finishReason: { unified: 'text' in turn ? ('stop' as const) : ('tool-calls' as const), raw: undefined },
      usage: {
        inputTokens: { total: usage.inputTokens, noCache: usage.inputTokens, cacheRead: undefined, cacheWrite: undefined },
        outputTokens: { total: usage.outputTokens, text: usage.outputTokens, reasoning: undefined },
      },
      warnings: [],
    }
  }
  return new MockLanguageModelV4({
    modelId: options.modelId ?? 'scripted-model',
    doGenerate: async (call) => next(call.prompt as never),
    doStream: async (call) => {
      const result = next(call.prompt as never)
      const parts: LanguageModelV4StreamPart[] = [{ type: 'stream-start', warnings: [] }]
      for (const part of result.content) {
        if (part.type === 'text') parts.push({ type: 'text-start', id: 't' }, { type: 'text-delta', id: 't', delta: part.text }, { type: 'text-end', id: 't' })
        else parts.push(part as LanguageModelV4StreamPart)
      }
      parts.push({ type: 'finish', finishReason: result.finishReason, usage: result.usage })
      return { stream: new ReadableStream({ start: (controller) => (parts.forEach((part) => controller.enqueue(part)), controller.close()) }) }
    },
  })
}
