/**
 * A file the project could not write, said as a researcher needs it: which file (not the temp name
 * beside it), and what the system's code means — a full disk, a quota, no permission, a read-only
 * file system — where Node says only "ENOSPC: no space left on device, write". The code stays on
 * the error (`code`) for callers that decide by it.
 */

const REASONS: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC); free space on it',
  EDQUOT: 'the disk quota is used up (EDQUOT); free space in it',
  EACCES: 'no permission to write there (EACCES)',
  EPERM: 'the operation is not permitted there (EPERM: a read-only or immutable file or folder, or a file system without hard links for a lock)',
  EISDIR: 'a folder has that name (EISDIR)',
  ENOTDIR: 'a part of its path is a file, not a folder (ENOTDIR)',
  EEXIST: 'a file stands where a folder belongs (EEXIST)',
  EROFS: 'the file system is read-only (EROFS)',
  EIO: 'the device reported an input/output error (EIO)',
  ENOENT: 'its folder does not exist (ENOENT)',
}

export class FileWriteError extends Error {
  readonly code: string | undefined
  /** `message`: what to say instead of the plain "cannot write <file>: <why>" (a caller that knows more). */
  constructor(
    readonly file: string,
    cause: unknown,
    message?: string,
  ) {
    const code = (cause as NodeJS.ErrnoException)?.code
    super(message ?? `cannot write ${file}: ${(code && REASONS[code]) ?? (cause as Error)?.message ?? String(cause)}`, {cause})
    this.name = 'FileWriteError'
    this.code = code
  }

  /** The same failure (file, cause, code), said as a caller that knows more says it: what is kept, how to go on. */
  explained(message: string): FileWriteError {
    return new FileWriteError(this.file, this.cause, message)
  }
}

/** `error` as a FileWriteError naming `file` (one already is stays as it is). */
export function writeFailure(file: string, error: unknown): FileWriteError {
  return error instanceof FileWriteError ? error : new FileWriteError(file, error)
}
