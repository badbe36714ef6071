/**
 * Shared behaviour of every `mixture` command: `--json` (from oclif), `--debug`, and one error
 * policy — bad input (spec, plugin, data, flags, a damaged run folder) prints one paragraph and
 * exits 2, a runtime failure exits 1, a run stopped by SIGINT/SIGTERM/SIGHUP exits 130/143/129, no stack
 * trace unless --debug.
 */
import {Command, Flags, Errors, type Interfaces} from '@oclif/core'
import {MAX_PROBLEMS_SHOWN, SpecError} from './config/errors.js'
import {RegistryError} from './registry/registry.js'
import {DataError} from './data/errors.js'
import {DEBUG_HINT, InterruptedError, STOP_SIGNALS, UsageError, type StopRequest, type StopSignal} from './errors.js'
// Every command starts with the built-in models, components, datasets and transforms registered.
import './builtins.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export function exitCodeFor(error: unknown): number {
  if (error instanceof InterruptedError) return STOP_SIGNALS[error.signal]
  if (error instanceof SpecError || error instanceof RegistryError || error instanceof DataError || error instanceof UsageError) return 2
  const oclif = (error as {oclif?: {exit?: number}}).oclif
  if (oclif?.exit !== undefined) return oclif.exit
  const exit = (error as {exit?: unknown}).exit
  return typeof exit === 'number' ? exit : 1
}

/**
 * Run `fn` with SIGINT (Ctrl-C), SIGTERM and SIGHUP turned into a stop request: the first one sets
 * `stop.requested` (the training loop finishes its step and keeps its checkpoint), a second one
 * exits at once (130, 143 or 129). After SIGHUP the terminal is gone: writing to it fails (EIO),
 * which must not end the process before the run has stopped cleanly.
 */
export async function withInterrupt<T>(message: string, fn: (stop: StopRequest) => Promise<T>): Promise<T> {
  graceful++
  const stop: StopRequest = {requested: false}
  const off = onStopSignals((signal) => {
    if (stop.requested) {
      try {
        stop.beforeQuit?.()
      } finally {
        process.exit(STOP_SIGNALS[signal])
      }
    }
    stop.requested = true
    stop.signal = signal
    process.stderr.write(`\n${signal === 'SIGINT' ? 'interrupt' : signal}: ${message}${signal === 'SIGINT' ? ' (Ctrl-C again to quit at once)' : ''}\n`)
  })
  try {
    return await fn(stop)
  } finally {
    off()
    graceful--
  }
}

/** How many withInterrupt calls are under way: while one is, a signal asks it to stop, and the command's immediate exit (BaseCommand.init) stands aside. */
let graceful = 0

/**
 * `handle` called for each of STOP_SIGNALS; returns what removes it. After SIGHUP the terminal is
 * gone, so from then on a write to it that fails (EIO, or EPIPE for a closed pipe) is dropped
 * rather than ending the process; any other stream error is still thrown.
 */
function onStopSignals(handle: (signal: StopSignal) => void): () => void {
  const handlers = Object.keys(STOP_SIGNALS).map((name) => {
    const signal = name as StopSignal
    const handler = () => {
      if (signal === 'SIGHUP') for (const stream of [process.stdout, process.stderr]) stream.on('error', ignoreClosedTerminal)
      handle(signal)
    }
    process.on(signal, handler)
    return [signal, handler] as const
  })
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler)
  }
}

function ignoreClosedTerminal(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EIO' && error.code !== 'EPIPE') throw error
}

export abstract class BaseCommand<T extends typeof Command> extends Command {
  static enableJsonFlag = true
  static baseFlags = {
    debug: Flags.boolean({summary: 'Print stack traces for errors.', helpGroup: 'GLOBAL'}),
  }

  /**
   * A command that trains nothing (eval, predict, export, table, ...) stopped by SIGINT, SIGTERM or
   * SIGHUP ends at once with the signal's exit code, saying so — with --json as the one JSON
   * document stdout promises. What it writes goes to a temporary name first, so nothing is left
   * half-written. Commands that train stop at a step boundary instead (withInterrupt).
   */
  async init(): Promise<void> {
    await super.init()
    this.offStopSignals = onStopSignals((signal) => {
      if (graceful > 0) return
      const code = STOP_SIGNALS[signal]
      const message = `interrupted by ${signal}`
      if (this.jsonEnabled()) this.logJson({error: {message, code}})
      process.stderr.write(`\nError: ${message}\n`)
      process.exit(code)
    })
  }

  /** Removes the signal handlers init installed, when the command ends (a program may run several commands). */
  private offStopSignals?: () => void

  async finally(error: Error | undefined): Promise<unknown> {
    this.offStopSignals?.()
    this.offStopSignals = undefined
    return super.finally(error)
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
      const problems = err instanceof SpecError ? err.problems : undefined
      const warnings = err instanceof SpecError && err.warnings.length > 0 ? err.warnings : undefined
      this.logJson({error: {message, code, problems: problems?.slice(0, MAX_PROBLEMS_SHOWN), more_problems: problems && problems.length > MAX_PROBLEMS_SHOWN ? problems.length - MAX_PROBLEMS_SHOWN : undefined}, warnings})
    }
    process.stderr.write(`Error: ${message}\n`)
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`)
    else if (code === 1) process.stderr.write(`${DEBUG_HINT}\n`)
    process.exitCode = code
    return undefined
  }
}
