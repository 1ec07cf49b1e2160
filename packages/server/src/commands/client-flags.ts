import { createHaldir, type Haldir, httpBackend, ValidationError } from '@haldir/core'
import { type Command, Option } from 'commander'
import { backendFromUrl } from '../backend-from-url.ts'
import { parseTenant, parseUrl } from '../cli-values.ts'
import { addKeyRingOptions, keyRing, type KeyRingFlags } from './key-ring-flags.ts'

/** How a command that reads or manages state reaches it: a server (URL and key), or the store itself. */
export interface ClientFlags extends KeyRingFlags {
  url: string
  key?: string
  backend?: string
  tenant: string
}

/** `--url`, `--key`, `--backend`, `--tenant` and the key ring, shared by every command that talks to Haldir. */
export function addClientOptions(command: Command, keyHint = 'an API key (auditor, approver, admin; or agent for a --session)'): Command {
  command
    .addOption(new Option('--url <url>', 'the Haldir server').default('http://127.0.0.1:8787').env('HALDIR_URL').argParser(parseUrl))
    .addOption(new Option('--key <key>', keyHint).env('HALDIR_API_KEY'))
    .addOption(new Option('--backend <spec>', 'read the store directly (memory or postgres://…) instead of a server'))
    .addOption(new Option('--tenant <name>', 'with --backend: the tenant to read').default('default').argParser(parseTenant))
  return addKeyRingOptions(command)
}

/** A client over the server the flags name, or over the store itself with `--backend`. */
export async function openClient(flags: ClientFlags): Promise<Haldir> {
  if (flags.backend) return createHaldir({ backend: await backendFromUrl(flags.backend, keyRing(flags)), tenant: flags.tenant })
  if (!flags.key) throw new ValidationError({ message: 'an API key is needed: --key or HALDIR_API_KEY' })
  return createHaldir({ backend: httpBackend({ url: flags.url, apiKey: flags.key }) })
}
