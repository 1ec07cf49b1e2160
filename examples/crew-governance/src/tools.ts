import { crewContext } from '@haldir/crew'
import { tool } from 'ai'
import { z } from 'zod'

// The crew's tools. Each reads the vault secret it needs as the calling agent, so a tool in
// the hands of an agent without the secret's scope cannot get at it.

export const webSearch = tool({
  description: 'Search the web for sources on a topic',
  inputSchema: z.object({ query: z.string() }),
  execute: async ({ query }) => {
    const apiKey = await crewContext().getSecret('search_api_key')
    return { query, via: `search api (key …${apiKey.slice(-4)})`, results: [`${query}: primer`, `${query}: case study`, `${query}: regulation update`] }
  },
})

export const queryDb = tool({
  description: 'Run a read-only SQL query on the analytics database',
  inputSchema: z.object({ sql: z.string() }),
  execute: async ({ sql }) => ({ sql, rows: [{ agents: 3, governed_calls: 42, blocked: 3 }] }),
})

export const writeDb = tool({
  description: 'Write a findings row to the analytics database',
  inputSchema: z.object({ table: z.string(), row: z.record(z.string(), z.unknown()) }),
  execute: async ({ table }) => {
    await crewContext().getSecret('db_password')
    return `1 row written to ${table}`
  },
})

export const sendEmail = tool({
  description: 'Send an email',
  inputSchema: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
  execute: async ({ to, subject }) => {
    await crewContext().getSecret('smtp_password')
    return `email "${subject}" sent to ${to}`
  },
})
