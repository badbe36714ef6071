/**
 * The folders writeFolderAtomic (write-folder-atomic.ts) keeps beside its target `<parent>/<name>`
 * while it works, and what a later write does with those a killed writer left behind:
 *
 *   .<name>.tmp-<pid>@<host>-<n>   the new folder, being written
 *   .<name>.old-<pid>@<host>-<n>   the previous <name>, set aside for the moment of the swap
 *
 * The writer's pid and host are in the name so that a later write can tell a leftover from the
 * work of a process that still runs: on this host its pid is probed; on another (a file system
 * shared between machines) it cannot be, and a leftover untouched for LEFTOVER_STALE_MS counts as
 * gone (a writer needs seconds). Names without a host (`.<name>.tmp-<pid>-<n>`, from versions
 * before the host was added) count as this host's.
 */
import {readdirSync, renameSync, rmSync, statSync} from 'node:fs'
import {hostname} from 'node:os'
import {basename, dirname, join} from 'node:path'
import {pidAlive} from '../process-alive.js'
import {isFolder} from './is-folder.js'
import {writeFailure} from './write-error.js'

/** What a leftover folder was for: the new folder being written, or the old one set aside. */
export type LeftoverKind = 'tmp' | 'old'

/** A leftover folder, read from its name. */
export interface Leftover {
  /** Its path. */
  path: string
  /** The folder it was written for or set aside from, `<parent>/<name>`. */
  target: string
  kind: LeftoverKind
  pid: number
  /** Absent in names from before the host was added. */
  host?: string
}

/** How long another host's leftover must lie untouched to count as gone: a writer needs seconds; a run's owner is judged by the same span (run/owner.ts). */
const LEFTOVER_STALE_MS = 15 * 60_000

const LEFTOVER = /^\.(.+)\.(tmp|old)-(\d+)(?:@([^/]+))?-(\d+)$/

/** This host's name as it goes into a folder's name (anything but letters, digits, dots and dashes as `_`). */
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_')

let counter = 0

/** A new name of `kind` beside `dir` for this process: `<parent>/.<name>.<kind>-<pid>@<host>-<n>`. */
export function leftoverName(dir: string, kind: LeftoverKind): string {
  return join(dirname(dir), `.${basename(dir)}.${kind}-${process.pid}@${HOST}-${counter++}`)
}

/** The leftover folder `entry` of `parent` names, or undefined where the name is not one. */
export function parseLeftover(parent: string, entry: string): Leftover | undefined {
  const m = LEFTOVER.exec(entry)
  if (!m) return undefined
  return {path: join(parent, entry), target: join(parent, m[1]), kind: m[2] as LeftoverKind, pid: Number(m[3]), ...(m[4] !== undefined ? {host: m[4]} : {})}
}

/** Whether the process that made `leftover` is gone (see the file's comment); a leftover of this process is not. */
export function writerGone(leftover: Leftover, now = Date.now()): boolean {
  if (leftover.host === undefined || leftover.host === HOST) return !pidAlive(leftover.pid)
  const touched = statSync(leftover.path, {throwIfNoEntry: false})?.mtimeMs
  return touched !== undefined && now - touched > LEFTOVER_STALE_MS
}

/** The leftover folders in `parent` (none where it cannot be read), oldest first. */
function leftovers(parent: string): Leftover[] {
  let names: string[]
  try {
    names = readdirSync(parent, {withFileTypes: true})
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
  } catch {
    return []
  }
  const found = names.map((name) => parseLeftover(parent, name)).filter((l): l is Leftover => l !== undefined)
  const mtime = (l: Leftover) => statSync(l.path, {throwIfNoEntry: false})?.mtimeMs ?? 0
  return found.sort((a, b) => mtime(a) - mtime(b))
}

/**
 * Put right what killed writers left in `parent`, before a new write there: a folder set aside
 * whose replacement never came (its name is missing) is renamed back; every other leftover whose
 * writer is gone (a half-written new folder, an old one whose replacement is in place) is removed,
 * said in one log line. Leftovers of a writer that still runs are never touched. A folder that
 * cannot be renamed back is a FileWriteError naming it; a leftover that cannot be removed stays.
 */
export function tidyLeftovers(parent: string, log: (message: string) => void): void {
  const stale = leftovers(parent).filter((l) => writerGone(l))
  // The newest set-aside copy of a missing folder is the one it last had.
  for (const aside of [...stale].reverse()) {
    if (aside.kind !== 'old' || isFolder(aside.target)) continue
    try {
      renameSync(aside.path, aside.target)
    } catch (error) {
      throw writeFailure(aside.target, error)
    }
    stale.splice(stale.indexOf(aside), 1)
    log(`restored ${aside.target} from ${basename(aside.path)}, where a write killed before it ended had set it aside`)
  }
  const removed: string[] = []
  for (const leftover of stale) {
    try {
      rmSync(leftover.path, {recursive: true, force: true})
      removed.push(basename(leftover.path))
    } catch {
      // Left for a later write (a folder that cannot be written now cannot be written to either).
    }
  }
  if (removed.length > 0) log(`removed ${removed.length} leftover folder(s) of writes killed before they ended, in ${parent}: ${removed.sort().join(', ')}`)
}

/**
 * The folder to read for `dir`: `dir`, or, where it is missing for the moment of a swap or after a
 * writer was killed in it, the copy set aside (the newest); undefined where there is neither.
 */
export function readableFolder(dir: string): string | undefined {
  if (isFolder(dir)) return dir
  const asides = leftovers(dirname(dir)).filter((l) => l.kind === 'old' && l.target === dir)
  return asides.at(-1)?.path
}
