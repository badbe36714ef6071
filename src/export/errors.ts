/** A run that cannot be exported as asked (a format that cannot represent the model, an output folder in the way). Exit code 2. */
import {UsageError} from '../errors.js'

export class ExportError extends UsageError {
  constructor(message: string) {
    super(message)
    this.name = 'ExportError'
  }
}
