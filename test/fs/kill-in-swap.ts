/**
 * Preload (`node --import`) that SIGKILLs the process in the middle of replacing an output folder:
 * right after the folder named FAULT_KILL_SWAP (e.g. test-best) was renamed aside, before the new
 * one is renamed in. For the tests of interrupted eval and export folders only.
 */
import fs from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {basename} from 'node:path'

const target = process.env.FAULT_KILL_SWAP
if (target) {
  const renameSync = fs.renameSync
  fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
    renameSync(from, to)
    if (basename(String(from)) === target && basename(String(to)).startsWith(`.${target}.`)) process.kill(process.pid, 'SIGKILL')
  }) as typeof fs.renameSync
  syncBuiltinESMExports()
}
