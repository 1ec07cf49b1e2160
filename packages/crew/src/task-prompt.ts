import type { CrewTask, TaskOutput } from './task.ts'

/** Fills `{name}` placeholders from `kickoff({ inputs })`; unknown ones stay as written. */
export function fillInputs(template: string, inputs: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (match, key: string) => (key in inputs ? String(inputs[key]) : match))
}

/**
 * The prompt an agent gets for a task, CrewAI's way: the description, the expected output, and
 * the answers of the tasks it reads (`context`, by default the previous task in a sequential crew).
 */
export function taskPrompt(options: {
  description: string
  expectedOutput: string
  contextTasks: readonly CrewTask[]
  outputs: ReadonlyMap<CrewTask, TaskOutput>
}): string {
  const context = options.contextTasks.flatMap((task) => {
    const output = options.outputs.get(task)
    return output && output.status === 'completed' ? [output.raw] : []
  })
  return (
    `${options.description}\n\nThis is the expected criteria for your final answer: ${options.expectedOutput}` +
    (context.length ? `\n\nThis is the context you're working with:\n${context.join('\n\n')}` : '')
  )
}
