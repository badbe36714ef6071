/**
 * The errors every layer below the CLI may throw about a run, and how a stop is asked for. The CLI
 * (base-command.ts) maps each to its exit code: a UsageError to 2, an InterruptedError to 130 or
 * 143. The other domain errors live beside what they are about: SpecError (config/errors.ts),
 * RegistryError (registry/registry.ts), DataError (data/errors.ts), CheckpointError
 * (run/checkpoint.ts).
 */

/** An error the user can fix by changing their input; exit code 2. */
export class UsageError extends Error {}

/**
 * Signals that stop a run gracefully, and the exit code of each (128 + the signal's number): Ctrl-C,
 * a scheduler's or `kill`'s SIGTERM, and SIGHUP (the terminal or ssh session closed).
 */
export const STOP_SIGNALS = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const
export type StopSignal = keyof typeof STOP_SIGNALS

/** A run stopped by SIGINT (Ctrl-C), SIGTERM (timeout, a scheduler's limit, preemption) or SIGHUP (its terminal closed); exit 130, 143 or 129. */
export class InterruptedError extends Error {
  constructor(
    message: string,
    readonly signal: StopSignal = 'SIGINT',
  ) {
    super(message)
  }
}

/** The loss became NaN or infinite: the run stops, keeping its last checkpoint; exit code 1. */
export class NonFiniteLossError extends Error {}

/** Set by the signal handlers; checked by the training loop between steps. */
export interface StopRequest {
  requested: boolean
  signal?: StopSignal
  /** Run (synchronously) before a second signal exits at once: what must be on disk, e.g. the run's status. */
  beforeQuit?: () => void
}

/** The line the CLI prints after an error of exit code 1 (logs that keep a command's output leave it out of a failure's reason). */
export const DEBUG_HINT = '(run again with --debug for the stack trace)'
