/**
 * A folder of output files written as one (an evaluation's `<run>/eval/<split>-<ckpt>/`, an export):
 * every file goes into a temp folder beside the target, fsync'd, and the temp folder is then renamed
 * into place. A reader sees the old folder or the new one, never a half-written one; a failure
 * leaves the old one as it was.
 *
 * The invariant, kills included: `dir` always holds a complete folder (the old one or the new one),
 * except between the two renames of a replacement (a folder cannot be renamed over a non-empty one),
 * when the old one is complete under its aside name `.<name>.old-<pid>@<host>-<n>` (folder-leftovers.ts).
 * A writer killed there leaves it so; the next write in the same parent renames it back before it
 * does anything else, and a reader meanwhile finds it with readableFolder. Temp and aside folders a
 * killed writer left are removed by the next write there, never those of a writer that still runs.
 */
import {existsSync, mkdirSync, renameSync, rmSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {leftoverName, tidyLeftovers} from './folder-leftovers.js'
import {makeFolder} from './make-folder.js'
import {syncFolder, writeFileAtomic} from './write-atomic.js'
import {FileWriteError, writeFailure} from './write-error.js'

export interface FolderWriteOptions {
  /** Where a note goes: leftovers of killed writers restored or removed. */
  log?: (message: string) => void
}

/**
 * Write `files` (name → content) as the folder `dir`, replacing any folder of that name; its parents
 * are made as needed. A failure is a FileWriteError naming `dir` (or the file in it) and why — a
 * read-only file system, no permission, a full disk — with `dir` as it was.
 */
export function writeFolderAtomic(dir: string, files: Record<string, string | Uint8Array>, opts: FolderWriteOptions = {}): void {
  const parent = dirname(dir)
  makeFolder(parent)
  tidyLeftovers(parent, opts.log ?? (() => undefined))
  const tmp = leftoverName(dir, 'tmp')
  try {
    mkdirSync(tmp)
  } catch (error) {
    throw writeFailure(dir, error)
  }
  try {
    for (const [name, data] of Object.entries(files)) writeInto(tmp, dir, name, data)
  } catch (error) {
    removeQuietly(tmp)
    throw error
  }
  swapIn(tmp, dir)
}

/** Write one file of the folder into `tmp`, fsync'd; a failure names the file as it will be in `dir`. */
function writeInto(tmp: string, dir: string, name: string, data: string | Uint8Array): void {
  try {
    writeFileAtomic(join(tmp, name), data)
  } catch (error) {
    throw new FileWriteError(join(dir, name), error instanceof FileWriteError ? error.cause : error)
  }
}

/** Rename the finished `tmp` to `dir`, the old `dir` set aside meanwhile (see the file's comment). */
function swapIn(tmp: string, dir: string): void {
  if (!existsSync(dir)) {
    try {
      renameSync(tmp, dir)
    } catch (error) {
      removeQuietly(tmp)
      throw writeFailure(dir, error)
    }
    syncFolder(dirname(dir))
    return
  }
  const aside = leftoverName(dir, 'old')
  try {
    renameSync(dir, aside)
  } catch (error) {
    removeQuietly(tmp)
    throw writeFailure(dir, error)
  }
  try {
    renameSync(tmp, dir)
  } catch (error) {
    // The old folder goes back; where even that fails, the next write renames it back (tidyLeftovers).
    try {
      renameSync(aside, dir)
    } catch {
      // see above
    }
    removeQuietly(tmp)
    throw writeFailure(dir, error)
  }
  syncFolder(dirname(dir))
  removeQuietly(aside)
}

/** Remove a temp or aside folder of this process; one that cannot be removed is left for the next write, which removes it once this process is gone. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, {recursive: true, force: true})
  } catch {
    // see above
  }
}
