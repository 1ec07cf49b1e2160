import { useEffect, useState } from 'preact/hooks'
import { currentUser, type Me, post } from './api.ts'
import { ApprovalsView } from './approvals-view.ts'
import { html } from './html.ts'
import { KeysView } from './keys-view.ts'
import { SessionView } from './session-view.ts'
import { SessionsView } from './sessions-view.ts'
import { SignInView } from './sign-in-view.ts'
import { useLiveTick } from './use-live-tick.ts'

/** The route, from the fragment: `#/`, `#/sessions/<id>`, `#/approvals`. */
function useRoute(): string {
  const [route, setRoute] = useState(location.hash.slice(1) || '/')
  useEffect(() => {
    const changed = () => setRoute(location.hash.slice(1) || '/')
    addEventListener('hashchange', changed)
    return () => removeEventListener('hashchange', changed)
  }, [])
  return route
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined)
  const route = useRoute()
  const live = useLiveTick(Boolean(me))
  useEffect(() => {
    currentUser().then(setMe, () => setMe(null))
  }, [])
  if (me === undefined) return html`<p>Loading…</p>`
  if (me === null) return html`<${SignInView} onSignedIn=${setMe} />`
  const sessionMatch = /^\/sessions\/(.+)$/.exec(route)
  const signOut = async () => {
    await post('/sign-out').catch(() => undefined)
    setMe(null)
  }
  return html`<div class="layout">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <h1><a href="#/">Haldir</a></h1>
      <nav aria-label="Main">
        <a href="#/" aria-current=${route === '/' ? 'page' : undefined}>Sessions</a>
        <a href="#/approvals" aria-current=${route === '/approvals' ? 'page' : undefined}>Approvals</a>
        ${me.can.keys ? html`<a href="#/keys" aria-current=${route === '/keys' ? 'page' : undefined}>Keys</a>` : ''}
      </nav>
      <p class="who">
        <span class=${live.connected ? 'live on' : 'live'} title=${live.connected ? 'Live updates on' : 'Live updates reconnecting'}>${live.connected ? '● live' : '○ offline'}</span>
        ${' '}<span>${me.tenant} · <strong>${me.role}</strong></span>
        ${' '}<button type="button" onClick=${signOut}>Sign out</button>
      </p>
    </header>
    <main id="main">
      ${sessionMatch
        ? html`<${SessionView} sessionId=${decodeURIComponent(sessionMatch[1] as string)} me=${me} tick=${live.tick} />`
        : route === '/approvals'
          ? html`<${ApprovalsView} me=${me} tick=${live.tick} />`
          : route === '/keys' && me.can.keys
            ? html`<${KeysView} />`
            : html`<${SessionsView} tick=${live.tick} />`}
    </main>
  </div>`
}
