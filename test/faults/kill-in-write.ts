/**
 * Preload (`node --import`) that SIGKILLs the process in the middle of writing a file: during the
 * FAULT_KILL_WRITE-th write (default 1) of FAULT_KILL_FILE (e.g. last.ckpt) through its temp file,
 * after FAULT_KILL_AFTER_CHUNKS chunks (default 1) have been written. For the fault tests only.
 */
import fs from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {basename} from 'node:path'

const target = process.env.FAULT_KILL_FILE
const atWrite = Number(process.env.FAULT_KILL_WRITE ?? 1)
const afterChunks = Number(process.env.FAULT_KILL_AFTER_CHUNKS ?? 1)
if (target) {
  const watched = new Set<number>()
  let writes = 0
  let chunks = 0
  const openSync = fs.openSync
  fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
    const fd = (openSync as (...a: unknown[]) => number)(path, ...rest)
    if (basename(String(path)).startsWith(`.${target}.tmp-`) && ++writes === atWrite) watched.add(fd)
    return fd
  }) as typeof fs.openSync
  const writeSync = fs.writeSync
  fs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (watched.has(fd) && chunks++ === afterChunks) process.kill(process.pid, 'SIGKILL')
    return (writeSync as (...a: unknown[]) => number)(fd, ...rest)
  }) as typeof fs.writeSync
  syncBuiltinESMExports()
}
