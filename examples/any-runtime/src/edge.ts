// A Vercel Edge Function (also a Next.js route handler with `export const runtime = 'edge'`):
// the governed call against the Haldir server named by `?server=` with the key in
// `x-haldir-key`, then in memory. In a real app the URL and key come from the environment.
import { runEverywhere } from './run-everywhere.ts'

export const config = { runtime: 'edge' }

export default async function handler(request: Request): Promise<Response> {
  const url = new URL(request.url).searchParams.get('server')
  const apiKey = request.headers.get('x-haldir-key')
  if (!url || !apiKey) return Response.json({ error: 'pass ?server= and an x-haldir-key header' }, { status: 400 })
  return Response.json(await runEverywhere({ url, apiKey }))
}
