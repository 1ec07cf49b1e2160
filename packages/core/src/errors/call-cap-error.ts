import { HaldirError } from './haldir-error.ts'
import { HaldirPermissionError } from './haldir-permission-error.ts'

const marker = 'haldir.error.call_cap_reached'
const symbol = Symbol.for(marker)

/** A tool's calls for the session are used up (its call cap): nothing ran, and no retry will. */
export class CallCapError extends HaldirPermissionError {
  private readonly [symbol] = true
  readonly tool: string | undefined
  readonly max: number | undefined
  readonly limitingSessionId: string | undefined

  constructor({ message, sessionId, limitingSessionId, tool, max }: { message?: string; sessionId?: string; limitingSessionId?: string; tool?: string; max?: number }) {
    super({ code: 'call_cap_reached', sessionId, message: message ?? `Call cap reached for '${tool ?? '?'}'`, data: { tool, max, limitingSessionId } })
    this.name = 'CallCapError'
    this.tool = tool
    this.max = max
    this.limitingSessionId = limitingSessionId
  }

  static override isInstance(error: unknown): error is CallCapError {
    return HaldirError.hasMarker(error, marker)
  }
}
