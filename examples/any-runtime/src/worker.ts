// A Cloudflare Worker: the governed call against the Haldir server in `env.HALDIR_URL` with the
// key in `env.HALDIR_API_KEY` (wrangler vars and secrets), then in memory.
import { runEverywhere } from './run-everywhere.ts'

interface Env {
  HALDIR_URL: string
  HALDIR_API_KEY: string
}

export default {
  async fetch(_request: Request, env: Env): Promise<Response> {
    return Response.json(await runEverywhere({ url: env.HALDIR_URL, apiKey: env.HALDIR_API_KEY }))
  },
}
