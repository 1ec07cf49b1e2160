import type { z } from 'zod'
import { parseInput } from '../schemas.ts'

// Enough for every session, tool and scope a process uses at once; past it the memory starts over.
const MAX_REMEMBERED = 4096

/**
 * A string schema's parse, remembering the strings it accepted: a governed call passes the same
 * session id, tool name and scope again and again, and whether a string is valid never changes.
 * Only accepted strings are remembered; anything else is parsed (and refused) every time.
 */
export function rememberValid(schema: z.ZodType<string>): (value: unknown, path: string) => string {
  let valid = new Set<string>()
  return (value, path) => {
    if (typeof value === 'string' && valid.has(value)) return value
    const parsed = parseInput(schema, value, path)
    if (valid.size >= MAX_REMEMBERED) valid = new Set()
    valid.add(parsed)
    return parsed
  }
}
