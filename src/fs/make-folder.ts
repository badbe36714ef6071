/**
 * `mkdir -p` that says why a folder cannot be made. Node's own (`mkdirSync(dir, {recursive: true})`)
 * reports ENOENT ("no such file or directory") when the folder cannot be made on a read-only file
 * system: it stats the missing folder to decide what went wrong and throws what the stat found. So
 * the folders are made one at a time and a failure is the kernel's own code (EROFS, EACCES, ENOSPC,
 * ENOTDIR), as a FileWriteError naming the folder.
 */
import {mkdirSync} from 'node:fs'
import {dirname} from 'node:path'
import {isFolder} from './is-folder.js'
import {writeFailure} from './write-error.js'

/** Make `dir` and the parents it lacks; an existing folder is left as it is. A failure is a FileWriteError naming `dir`. */
export function makeFolder(dir: string): void {
  try {
    if (isFolder(dir)) return
    const parent = dirname(dir)
    if (parent !== dir) makeFolder(parent)
    mkdirSync(dir)
  } catch (error) {
    // Another process made it meanwhile.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST' && isFolder(dir)) return
    throw writeFailure(dir, error)
  }
}
