import { auditEvents } from '../../audit/audit-events.ts'
import type { ReadSecretRequest } from '../../backend/haldir-backend.ts'
import { IntegrityError } from '../../errors/integrity-error.ts'
import { NotFoundError } from '../../errors/not-found-error.ts'
import { decideAuthorization } from '../../policy/decide-authorization.ts'
import { denialToError } from '../../policy/denial-to-error.ts'
import type { SealedSecret, SecretBinding } from '../../vault/vault-cipher.ts'
import type { Draft } from '../draft.ts'
import type { LoadedState } from '../state-store.ts'
import { requireSession } from './require-session.ts'

/** The vault operations a secret read needs (the engine's cipher). */
export interface VaultAccess {
  open(binding: SecretBinding, sealed: SealedSecret): string
  seal(binding: SecretBinding, value: string): SealedSecret
}

/**
 * A vault read over the locked chain: liveness and the secret's scope first (so a dead or
 * unscoped session learns nothing, not even whether the name exists), then the name, then open
 * it (a ciphertext that does not open, because it or anything it is bound to was changed, is an
 * `IntegrityError`). Every read is audited, by name, never with its value; refusals are audited
 * and then reported. A ciphertext of the old format is resealed bound to tenant, name, scope
 * and key id.
 */
export function planSecretRead(state: LoadedState, request: ReadSecretRequest, draft: Draft<string>, vault: VaultAccess): string {
  const session = requireSession(state.sessions, request.sessionId)
  const { secret } = state
  const scope = secret?.scopeRequired ?? null
  const audit = (outcome: 'ok' | 'denied' | 'error', reason: string | null) => draft.append(session, auditEvents.secretRead({ name: request.name, scope, outcome, reason }))
  const decision = decideAuthorization({ chain: state.sessions, mode: 'check', scope, amountMicros: 0, now: draft.now })
  if (!decision.allowed) {
    audit('denied', decision.reason)
    return draft.refuse(denialToError(decision, request.sessionId))
  }
  if (!secret) {
    audit('error', `no secret '${request.name}'`)
    return draft.refuse(new NotFoundError({ resource: 'secret', id: request.name }))
  }
  const binding = { tenant: request.tenant, name: secret.name, scopeRequired: secret.scopeRequired }
  let value: string
  try {
    value = vault.open(binding, secret.sealed)
  } catch (error) {
    if (!IntegrityError.isInstance(error)) throw error
    audit('error', error.message)
    return draft.refuse(error)
  }
  if (secret.sealed.format !== 2) draft.putSecret({ ...secret, sealed: vault.seal(binding, value) })
  audit('ok', null)
  return value
}
