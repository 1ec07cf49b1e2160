import { useState } from 'preact/hooks'
import { type Me, signIn } from './api.ts'
import { html } from './html.ts'

/** The key box: the key is sent once and forgotten (the field is cleared); the cookie carries the sign-in. */
export function SignInView({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState('')
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const submit = async (event: Event) => {
    event.preventDefault()
    setBusy(true)
    setError('')
    try {
      const me = await signIn(key.trim())
      setKey('')
      onSignedIn(me)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }
  return html`<main class="sign-in">
    <h1>Haldir dashboard</h1>
    <form onSubmit=${submit}>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" required value=${key} onInput=${(event: Event) => setKey((event.target as HTMLInputElement).value)} />
      <button type="submit" disabled=${busy}>Sign in</button>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <p class="hint">The key is exchanged for an HTTP-only cookie; the browser never stores it. An auditor key reads, an approver key also decides approvals, an admin key also revokes.</p>
    </form>
  </main>`
}
