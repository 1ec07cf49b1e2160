/** What a gate entry records of a call's arguments under the `recordInput` option. */
export function recordedInput(record: boolean | ((args: Record<string, unknown>) => Record<string, unknown>), args: Record<string, unknown>): Record<string, unknown> | undefined {
  if (record === true) return { args }
  if (record === false) return undefined
  return record(args)
}
