import { ValidationError } from '@haldir/core'
import { checkOptionKeys } from '@haldir/core/backend'
import type { CrewAgent } from './agent.ts'

export interface TaskOutput {
  description: string
  /** Role of the agent that did it (in a hierarchical crew: the manager's delegate, or the manager). */
  agent: string
  /** The agent's final answer, or the reason it has none. */
  raw: string
  /** `waiting`: stopped for approvals (see `CrewOutput.resume`). */
  status: 'completed' | 'blocked' | 'skipped' | 'waiting'
  usage: { inputTokens: number; outputTokens: number; totalTokens: number }
}

export interface TaskOptions {
  /** What to do; `{name}` placeholders are filled from `kickoff({ inputs })`. */
  description: string
  expectedOutput: string
  /** Who does it (required in a sequential crew; the manager decides in a hierarchical one). */
  agent?: CrewAgent
  /** Tasks whose outputs this one reads. @default the previous task's, in a sequential crew */
  context?: CrewTask[]
  /** Called with the output when the task ends. */
  callback?: (output: TaskOutput) => void | Promise<void>
  name?: string
}

export interface CrewTask extends TaskOptions {
  readonly kind: 'haldir.crew.task'
}

/**
 * A unit of work, CrewAI-style.
 *
 * @example
 * const research = Task({ description: 'Research {topic}', expectedOutput: 'Five bullet points', agent: researcher })
 */
export function Task(options: TaskOptions): CrewTask {
  checkOptionKeys(options, ['description', 'expectedOutput', 'agent', 'context', 'callback', 'name'], 'task')
  const issues: { path: string; message: string }[] = []
  if (typeof options?.description !== 'string' || !options.description.trim()) issues.push({ path: 'description', message: 'is required' })
  if (typeof options?.expectedOutput !== 'string' || !options.expectedOutput.trim()) issues.push({ path: 'expectedOutput', message: 'is required' })
  if (options?.agent !== undefined && options.agent.kind !== 'haldir.crew.agent') issues.push({ path: 'agent', message: 'must come from Agent()' })
  if (issues.length) throw new ValidationError({ issues: issues.map((issue) => ({ ...issue, path: `task.${issue.path}` })) })
  return { ...options, kind: 'haldir.crew.task' }
}
