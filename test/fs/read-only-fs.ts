/**
 * Preload (`node --import`) that makes one folder unwritable, as the kernel answers for it: every
 * change under FAULT_READ_ONLY (making, writing, renaming, removing) fails with FAULT_READ_ONLY_CODE,
 * EROFS (a read-only mount, the default) or EACCES (a folder of another user, chmod 555); reading
 * works. Node's recursive mkdir of a missing folder on a read-only file system reports ENOENT (it
 * stats the folder to explain the failure), and so does this. For the tests of unwritable output
 * folders, which would otherwise need root (a mount) or a non-root user (chmod).
 */
import fs from 'node:fs'
import {syncBuiltinESMExports} from 'node:module'
import {resolve, sep} from 'node:path'

const root = process.env.FAULT_READ_ONLY
const code = process.env.FAULT_READ_ONLY_CODE ?? 'EROFS'
const WHY: Record<string, string> = {EROFS: 'read-only file system', EACCES: 'permission denied', ENOENT: 'no such file or directory'}

if (root) {
  const under = (path: unknown) => typeof path === 'string' && (resolve(path) === root || resolve(path).startsWith(`${root}${sep}`))
  const refuse = (syscall: string, path: string, why = code): never => {
    throw Object.assign(new Error(`${why}: ${WHY[why]}, ${syscall} '${path}'`), {code: why, syscall, path})
  }
  const {O_WRONLY, O_RDWR, O_CREAT} = fs.constants
  const writes = (flags: unknown) => (typeof flags === 'number' ? (flags & (O_WRONLY | O_RDWR | O_CREAT)) !== 0 : flags !== undefined && flags !== 'r')
  const wrap = <F extends (...args: never[]) => unknown>(name: string, original: F, denied: (...args: Parameters<F>) => boolean, syscall = name.replace(/Sync$/, '').toLowerCase()): F =>
    ((...args: Parameters<F>) => (denied(...args) ? refuse(syscall, String(args[0])) : original(...args))) as F
  const mkdirSync = fs.mkdirSync
  fs.mkdirSync = ((path: fs.PathLike, options?: fs.MakeDirectoryOptions) => {
    if (!under(String(path))) return mkdirSync(path, options)
    if (options?.recursive && fs.existsSync(String(path))) return undefined
    return refuse('mkdir', String(path), options?.recursive && code === 'EROFS' ? 'ENOENT' : code)
  }) as typeof fs.mkdirSync
  fs.openSync = wrap('openSync', fs.openSync, (path, flags) => under(String(path)) && writes(flags), 'open')
  fs.writeFileSync = wrap('writeFileSync', fs.writeFileSync, (file) => under(file), 'open')
  fs.renameSync = wrap('renameSync', fs.renameSync, (from, to) => under(String(from)) || under(String(to)), 'rename')
  fs.rmSync = wrap('rmSync', fs.rmSync, (path) => under(String(path)), 'rm')
  fs.linkSync = wrap('linkSync', fs.linkSync, (_, to) => under(String(to)), 'link')
  syncBuiltinESMExports()
}
