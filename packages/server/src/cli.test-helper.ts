import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach } from 'vitest'

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** Starts `haldir ARGS` from the sources; collects its output (stdout and stderr together). */
export function runCli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--conditions=@haldir/source', cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let output = ''
  let stdout = ''
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    for (let waited = 0; waited < 15_000; waited += 20) {
      const match = output.match(pattern)
      if (match) return match
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`timed out waiting for ${pattern}; output so far:\n${output}`)
  }
  return { child, exited, waitFor, output: () => output, stdout: () => stdout }
}

/** Runs `haldir ARGS` to its end: its exit code, everything it printed, and its standard output alone. */
export async function cliOutcome(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string; stdout: string }> {
  const command = runCli(args, env)
  const code = await command.exited
  return { code, output: command.output(), stdout: command.stdout() }
}
