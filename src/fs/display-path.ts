/** How the project shows a file or folder in a message: relative to the working folder when inside it, else absolute. */
import {isAbsolute, relative} from 'node:path'

/** `path` relative to the working folder when it lies inside (`.` for the folder itself), else as given. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path)
  if (rel === '') return '.'
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel
}
