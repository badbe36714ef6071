/**
 * A folder of output files written as one: every file goes into a temp folder beside the target,
 * which is then renamed into place (an earlier folder of that name is set aside first and removed
 * after). A reader sees the old folder or the new one, never a half-written one; a failure leaves
 * the old one as it was.
 */
import {existsSync, mkdirSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {tempName} from '../fs/write-atomic.js'

/** Write `files` (relative name → content) as the folder `dir`, replacing any folder of that name. */
export function writeFolderAtomic(dir: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(dirname(dir), {recursive: true})
  const tmp = tempName(dir)
  mkdirSync(tmp)
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data)
  } catch (error) {
    rmSync(tmp, {recursive: true, force: true})
    throw error
  }
  if (!existsSync(dir)) {
    renameSync(tmp, dir)
    return
  }
  const old = tempName(dir)
  renameSync(dir, old)
  try {
    renameSync(tmp, dir)
  } catch (error) {
    renameSync(old, dir)
    rmSync(tmp, {recursive: true, force: true})
    throw error
  }
  rmSync(old, {recursive: true, force: true})
}
