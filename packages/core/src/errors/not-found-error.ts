import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.not_found'
const symbol = Symbol.for(marker)

export type HaldirResource = 'session' | 'hold' | 'secret' | 'entry' | 'route' | 'approval' | 'rule' | 'webhook'

/** No such session, hold, secret, approval, rule or webhook (for this tenant). */
export class NotFoundError extends HaldirError {
  private readonly [symbol] = true
  readonly resource: HaldirResource
  readonly id: string

  constructor({ resource, id, message, cause }: { resource: HaldirResource; id: string; message?: string; cause?: unknown }) {
    super({ code: 'not_found', message: message ?? `No ${resource} '${id}'`, cause, data: { resource, id } })
    this.name = 'NotFoundError'
    this.resource = resource
    this.id = id
  }

  static override isInstance(error: unknown): error is NotFoundError {
    return HaldirError.hasMarker(error, marker)
  }
}
