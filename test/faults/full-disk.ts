/**
 * Preload (`node --import`) that makes writes of one file meet a full disk: its writes number
 * FAULT_FULL_FROM (1-based, default 1) to FAULT_FULL_FROM + FAULT_FULL_COUNT - 1 (default: every one
 * from there) go to /dev/full, where the kernel answers ENOSPC as a full disk does. FAULT_FULL_FILE
 * names the file (summary.json, metrics.csv, last.ckpt): an atomic write through its temp file, or
 * an append. For the fault tests only.
 */
import fs from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {basename} from 'node:path'

const target = process.env.FAULT_FULL_FILE
const from = Number(process.env.FAULT_FULL_FROM ?? 1)
const count = Number(process.env.FAULT_FULL_COUNT ?? Infinity)
if (target) {
  let writes = 0
  const full = () => {
    writes++
    return writes >= from && writes < from + count
  }
  const openSync = fs.openSync
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    const to = basename(String(path)).startsWith(`.${target}.tmp-`) && full() ? '/dev/full' : path
    return (openSync as (...a: unknown[]) => number)(to, ...rest)
  }) as typeof fs.openSync
  const appendFileSync = fs.appendFileSync
  fs.appendFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    const to = typeof path !== 'number' && basename(String(path)) === target && full() ? '/dev/full' : path
    return (appendFileSync as (...a: unknown[]) => void)(to, ...rest)
  }) as typeof fs.appendFileSync
  syncBuiltinESMExports()
}
