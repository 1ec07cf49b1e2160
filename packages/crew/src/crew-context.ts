import { AsyncLocalStorage } from 'node:async_hooks'
import { type Haldir, ValidationError } from '@haldir/core'

/** What a tool running inside a crew can know about who is calling it. */
export interface CrewContext {
  haldir: Haldir
  /** The calling agent's session: secrets are read, and charges made, as this session. */
  sessionId: string
  role: string
  /** Reads a vault secret as the calling agent (scope-checked and audited). */
  getSecret(name: string): Promise<string>
}

const storage = new AsyncLocalStorage<CrewContext>()

/** Runs `fn` with `context` as the current crew context (the crew does this around each agent). */
export function runInCrewContext<T>(context: CrewContext, fn: () => Promise<T>): Promise<T> {
  return storage.run(context, fn)
}

/**
 * The calling agent, from inside a tool's `execute` during `crew.kickoff()`: its session, role
 * and a `getSecret` bound to it, so a tool reads only the secrets its agent's scopes allow.
 *
 * @example
 * execute: async ({ sql }) => db(await crewContext().getSecret('db_password')).query(sql)
 */
export function crewContext(): CrewContext {
  const context = storage.getStore()
  if (!context) throw new ValidationError({ message: 'crewContext() is only available inside a tool run by crew.kickoff()' })
  return context
}
