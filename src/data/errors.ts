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
