import { useState } from 'preact/hooks'
import { get, post } from './api.ts'
import { when } from './format.ts'
import { html } from './html.ts'
import { useData } from './use-data.ts'

interface KeyList {
  configured: { keyId: string; role: string }[]
  minted: { prefix: string; name: string; role: string; scopes: string[]; createdAt: number; lastUsed: number; revoked: boolean }[]
}

/** The tenant's keys, for admins: ids and roles (a key itself is never shown again); minted keys can be revoked here. */
export function KeysView() {
  const [reloads, setReloads] = useState(0)
  const [error, setError] = useState('')
  const list = useData(() => get<KeyList>('/keys'), [reloads])
  const revoke = async (prefix: string) => {
    try {
      setError('')
      await post(`/keys/${encodeURIComponent(prefix)}/revoke`)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
    setReloads(reloads + 1)
  }
  const data = list.data
  return html`<section aria-labelledby="keys-heading">
    <h2 id="keys-heading">API keys</h2>
    ${error && html`<p role="alert" class="error">${error}</p>`}
    ${list.error && html`<p role="alert" class="error">${list.error.message}</p>`}
    <h3>Configured on the server</h3>
    <p class="muted">From the server's options or keys file; change them there.</p>
    <ul>${data?.configured.map((key) => html`<li key=${key.keyId}><code>${key.keyId}</code> · ${key.role}</li>`)}</ul>
    <h3>Minted through the API</h3>
    ${data && data.minted.length === 0 ? html`<p>None.</p>` : ''}
    <div class="table-wrap">
      <table>
        <thead><tr><th scope="col">Prefix</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          ${data?.minted.map(
            (key) => html`<tr key=${key.prefix}>
              <td><code>${key.prefix}</code></td>
              <td>${key.name}</td>
              <td>${key.role}</td>
              <td>${when(key.createdAt)}</td>
              <td>${key.lastUsed ? when(key.lastUsed) : 'never'}</td>
              <td>${key.revoked ? html`<span class="state revoked">revoked</span>` : html`<button type="button" class="danger" aria-label=${`Revoke key ${key.prefix}`} onClick=${() => revoke(key.prefix)}>Revoke</button>`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
  </section>`
}
