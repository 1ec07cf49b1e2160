import { type DetailsMeasure, fixedRedactKeys, redactDetails } from '../audit/redact-details.ts'
import { BACKEND_CONTRACT_VERSION, type HaldirBackend } from '../backend/haldir-backend.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { idSchema, nameSchema, parseInput, scopeSchema } from '../schemas.ts'
import { rememberValid } from './valid-strings.ts'
import type { SettleQueue } from './settle-queue.ts'

/** What every method of a Haldir client shares: the backend, the tenant and the redaction rules. */
export interface ClientContext {
  backend: HaldirBackend
  tenant: string
  /** Validates an id-like argument (`sessionId`, `idempotencyKey`) and names it in the error. */
  id(value: unknown, path: string): string
  /** Validates a name (a tool, an action, a secret). */
  name(value: unknown, path: string): string
  /** Validates a scope (`read`, `db:*`). */
  scope(value: unknown, path: string): string
  /** Normalises details to plain JSON with redacted keys and known secret values masked (and counts their JSON length into `measure`). */
  cleanDetails(details: Record<string, unknown> | undefined, measure?: DetailsMeasure): Record<string, unknown>
  /** `cleanDetails({ durationMs })` for a finite number: what a governed call records of itself. */
  timedDetails(durationMs: number): Record<string, unknown>
  /** Masks this value wherever it appears in later details (a secret this client has seen). */
  rememberSecret(value: string): void
  /** Where governed calls' settles wait to be written; null when every settle is awaited inline. */
  settles: SettleQueue | null
}

export const DEFAULT_REDACT = ['password', 'secret', 'token', 'apikey', 'api_key', 'authorization']
// Shorter values would blank out ordinary words in the trail.
const MIN_TRACKED_SECRET_LENGTH = 4

export function createClientContext(options: {
  backend: HaldirBackend
  tenant: string
  redact: readonly string[]
  settles: ((backend: HaldirBackend, tenant: string) => SettleQueue) | null
}): ClientContext {
  const { backend } = options
  checkBackend(backend)
  const redactOptions = { keys: fixedRedactKeys(options.redact), secretValues: new Set<string>() }
  const tenant = parseInput(idSchema, options.tenant, 'tenant')
  const timingRedacted = redactOptions.keys.has('durationms')
  return {
    backend,
    tenant,
    settles: options.settles ? options.settles(backend, tenant) : null,
    id: rememberValid(idSchema),
    name: rememberValid(nameSchema),
    scope: rememberValid(scopeSchema),
    cleanDetails(details, measure) {
      if (details === undefined) {
        if (measure) measure.jsonLength = 2
        return {}
      }
      if (typeof details !== 'object' || details === null || Array.isArray(details)) {
        throw new ValidationError({ issues: [{ path: 'details', message: 'must be a plain object' }] })
      }
      return redactDetails(details, redactOptions, measure)
    },
    timedDetails(durationMs) {
      // Nothing of a finite number is masked or normalised: only a redacted key changes it.
      return timingRedacted || !Number.isFinite(durationMs) ? redactDetails({ durationMs }, redactOptions) : { durationMs }
    },
    rememberSecret(value) {
      if (value.length >= MIN_TRACKED_SECRET_LENGTH) redactOptions.secretValues.add(value)
    },
  }
}

/** A backend of another contract version would misread requests: refuse it with the fix. */
function checkBackend(backend: unknown): asserts backend is HaldirBackend {
  if (typeof backend !== 'object' || backend === null || typeof (backend as HaldirBackend).authorize !== 'function') {
    const got = typeof backend === 'string' ? `the string '${backend}'` : typeof backend
    throw new ValidationError({
      issues: [{ path: 'backend', message: `must be a backend object such as memoryBackend(), httpBackend({ url }) or postgresBackend({ … }); got ${got}` }],
    })
  }
  const version = (backend as { contractVersion?: unknown }).contractVersion
  if (version !== BACKEND_CONTRACT_VERSION) {
    throw new ValidationError({
      message:
        `Backend '${String((backend as HaldirBackend).name)}' implements backend contract ${version === undefined ? '1 (no contractVersion)' : String(version)}, ` +
        `but this @haldir/core speaks contract ${BACKEND_CONTRACT_VERSION}: install matching versions of @haldir/core and the backend package`,
      issues: [{ path: 'backend.contractVersion', message: `expected ${BACKEND_CONTRACT_VERSION}, got ${String(version)}` }],
    })
  }
}
