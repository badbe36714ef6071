/**
 * Shared behaviour of every `mixture` command: `--json` (from oclif), `--debug`, and one error
 * policy — bad input (spec, plugin, data, flags) prints one paragraph and exits 2, a runtime
 * failure exits 1, no stack trace unless --debug.
 */
import {Command, Flags, Errors, type Interfaces} from '@oclif/core'
import {SpecError} from './config/errors.js'
import {RegistryError} from './registry/registry.js'
import {DataError} from './data/errors.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/** An error the user can fix by changing their input; exit code 2. */
export class UsageError extends Error {}

export class InterruptedError extends Error {}

export function exitCodeFor(error: unknown): number {
  if (error instanceof InterruptedError) return 130
  if (error instanceof SpecError || error instanceof RegistryError || error instanceof DataError || error instanceof UsageError) return 2
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  if (oclif?.exit !== undefined) return oclif.exit
  const exit = (error as {exit?: unknown}).exit
  return typeof exit === 'number' ? exit : 1
}

/**
 * Run `fn` with Ctrl-C turned into a stop request: the first SIGINT sets `stop.requested` (the
 * training loop finishes its step and keeps its checkpoint), a second one exits 130 at once.
 */
export async function withInterrupt<T>(message: string, fn: (stop: {requested: boolean}) => Promise<T>): Promise<T> {
  const stop = {requested: false}
  const onSigint = () => {
    if (stop.requested) process.exit(130)
    stop.requested = true
    process.stderr.write(`\ninterrupt: ${message} (Ctrl-C again to quit at once)\n`)
  }
  process.on('SIGINT', onSigint)
  try {
    return await fn(stop)
  } finally {
    process.off('SIGINT', onSigint)
  }
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true
  static baseFlags = {
    debug: Flags.boolean({summary: 'Print stack traces for errors.', helpGroup: 'GLOBAL'}),
  }

  /** Diagnostics go to stderr, so that stdout stays clean for results and --json. */
  protected note(message: string): void {
    process.stderr.write(`${message}\n`)
  }

  protected async catch(err: Error & {exitCode?: number}): Promise<unknown> {
    // oclif's own exits (help, --version, this.exit) pass through untouched
    if (err instanceof Errors.ExitError) throw err
    const parseError = err instanceof Errors.CLIError && (err as {oclif?: {exit?: number}}).oclif?.exit === 2
    const code = parseError ? 2 : exitCodeFor(err)
    const debug = process.argv.includes('--debug') || Boolean(process.env.DEBUG)
    const message = err.message.replace(/^Error: /, '')
    if (this.jsonEnabled()) {
      this.logJson({error: {message, code, problems: err instanceof SpecError ? err.problems : undefined}})
    }
    process.stderr.write(`Error: ${message}\n`)
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`)
    else if (code === 1) process.stderr.write('(run again with --debug for the stack trace)\n')
    process.exitCode = code
    return undefined
  }
}
