// `haldir serve` in a process of its own, as production runs it, for the benchmarks that talk HTTP.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const cli = fileURLToPath(new URL('../packages/server/dist/cli.js', import.meta.url))

/** Starts the built CLI (`pnpm build` first) with these flags and environment; resolves with its URL once it listens. */
export async function startHaldirServe(args: readonly string[], env: Record<string, string>): Promise<{ url: string; stop: () => void }> {
  const server = spawn(process.execPath, [cli, 'serve', '--port', '0', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    let output = ''
    const listening = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (\S+)/.exec(output)
      if (!match) return
      // From here on the request log is read and dropped (kept, it would grow with every request).
      server.stdout.off('data', listening)
      server.stdout.resume()
      resolve(match[1] as string)
    }
    server.stdout.on('data', listening)
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
  })
  return { url, stop: () => server.kill('SIGTERM') }
}
