/**
 * Every user-facing data problem (missing files, corrupt files, bad configuration, failed
 * download) is a `DataError`; its message is the complete one-paragraph explanation, ready to
 * print, saying what is wrong and how to fix it.
 */
export class DataError extends Error {
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'DataError'
  }
}

/** Throws a DataError unless `v` is absent or an integer ≥ min (`what` names the key, e.g. `train_limit`). */
export function checkCount(what: string, v: number | undefined, min: number): void {
  if (v === undefined) return
  if (!Number.isInteger(v) || v < min) throw new DataError(`data.${what} must be an integer ≥ ${min}; got ${v}.`)
}
