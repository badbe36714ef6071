/** Whether a path names a folder, a symbolic link to one included; false for anything else and for nothing (a dangling link). */
import {statSync} from 'node:fs'

export function isFolder(path: string): boolean {
  return statSync(path, {throwIfNoEntry: false})?.isDirectory() ?? false
}
