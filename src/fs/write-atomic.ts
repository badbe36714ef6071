/**
 * Write-then-rename, the one way the project writes a file a reader may open meanwhile (run folders,
 * checkpoints, sweep indexes, tables, reports): a reader never sees a half-written file, and a crash
 * leaves the old one. The file is fsync'd before the rename and its folder after, so the new name
 * survives a power loss too.
 */
import {closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync} from 'node:fs'
import {dirname, basename, join} from 'node:path'
import {writeFailure} from './write-error.js'

let counter = 0

export function tempName(file: string): string {
  return join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${counter++}`)
}

/**
 * Write `data` to a temp file beside `file`, fsync it, then rename over `file`. A failure is a
 * FileWriteError naming `file` and why (a full disk, no permission); the old file stays, the temp goes.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array | Uint8Array[]): void {
  const tmp = tempName(file)
  let fd: number
  try {
    fd = openSync(tmp, 'w')
  } catch (error) {
    throw writeFailure(file, error)
  }
  try {
    for (const chunk of Array.isArray(data) ? data : [data]) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      let off = 0
      while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off)
    }
    fsyncSync(fd)
  } catch (error) {
    closeSync(fd)
    rmSync(tmp, {force: true})
    throw writeFailure(file, error)
  }
  closeSync(fd)
  try {
    renameSync(tmp, file)
  } catch (error) {
    // `file` is a folder, or its folder was removed meanwhile: the old file (if any) stays, the temp goes.
    rmSync(tmp, {force: true})
    throw writeFailure(file, error)
  }
  syncFolder(dirname(file))
}

/** fsync a folder, so that a rename in it is on disk; where folders cannot be opened for it (Windows), nothing. */
export function syncFolder(dir: string): void {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch {
    return
  }
  try {
    fsyncSync(fd)
  } catch {
    // Some file systems refuse fsync on a folder (EINVAL); the rename itself has happened.
  } finally {
    closeSync(fd)
  }
}
