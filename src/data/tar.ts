/**
 * A small streaming tar reader (ustar, with GNU long names and pax `path` records), enough to
 * unpack the official dataset archives without an extra dependency. Entries stream straight to
 * their sinks, so multi-gigabyte archives (STL-10) never sit in memory.
 */
import {once} from 'node:events'
import {createReadStream, createWriteStream} from 'node:fs'
import {rename, unlink} from 'node:fs/promises'
import {pipeline} from 'node:stream'
import {createGunzip} from 'node:zlib'

export interface TarEntry {
  /** Full member path as stored (prefix/name, or the long name). */
  name: string
  size: number
  /** '0' regular file, '5' directory, ... (NUL is normalized to '0'). */
  type: string
}

export interface TarSink {
  write(chunk: Uint8Array): void | Promise<void>
  end(): void | Promise<void>
}

export class TarFormatError extends Error {}

const BLOCK = 512

function cString(b: Uint8Array, start: number, len: number): string {
  let end = start
  while (end < start + len && b[end] !== 0) end++
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8')
}

function parseNumber(b: Uint8Array, start: number, len: number): number {
  if (b[start] & 0x80) {
    // GNU base-256 encoding (sizes ≥ 8 GiB)
    let v = b[start] & 0x7f
    for (let i = start + 1; i < start + len; i++) v = v * 256 + b[i]
    return v
  }
  const s = cString(b, start, len).trim()
  if (s === '') return 0
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`bad octal number '${s}' in a tar header`)
  return parseInt(s, 8)
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false
  return true
}

function checkHeader(h: Uint8Array): void {
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]
  const stored = parseNumber(h, 148, 8)
  if (stored !== sum) throw new TarFormatError(`tar header checksum mismatch (stored ${stored}, computed ${sum}): not a tar archive, or corrupt`)
}

/** Parses pax extended header records "len key=value\n". */
function paxPath(data: Buffer): string | undefined {
  let pos = 0
  let path: string | undefined
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos)
    if (sp < 0) break
    const len = parseInt(data.subarray(pos, sp).toString('ascii'), 10)
    if (!(len > 0)) break
    const rec = data.subarray(sp + 1, pos + len - 1).toString('utf8')
    const eq = rec.indexOf('=')
    if (eq > 0 && rec.slice(0, eq) === 'path') path = rec.slice(eq + 1)
    pos += len
  }
  return path
}

/**
 * Reads a tar stream. For each entry `onEntry` returns a sink for its bytes, or undefined to
 * skip it. Throws TarFormatError on a corrupt header or a truncated stream.
 */
export async function readTar(source: AsyncIterable<Uint8Array>, onEntry: (e: TarEntry) => TarSink | undefined | Promise<TarSink | undefined>): Promise<number> {
  let pending: Buffer = Buffer.alloc(0)
  type State = 'header' | 'data' | 'meta' | 'pad' | 'end'
  let state = 'header' as State
  let remaining = 0
  let pad = 0
  let sink: TarSink | undefined
  let metaType = ''
  let meta: Buffer[] = []
  let nextName: string | undefined
  let entries = 0

  const finishEntry = async () => {
    if (state === 'data' && sink) await sink.end()
    if (state === 'meta') {
      const data = Buffer.concat(meta)
      if (metaType === 'L') nextName = cString(data, 0, data.length)
      else if (metaType === 'x') nextName = paxPath(data) ?? nextName
      meta = []
    }
    sink = undefined
    state = pad > 0 ? 'pad' : 'header'
  }

  for await (const chunk of source) {
    const b: Buffer = pending.length > 0 ? Buffer.concat([pending, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    pending = Buffer.alloc(0)
    let pos = 0
    while (pos < b.length && (state as State) !== 'end') {
      if (state === 'header') {
        if (b.length - pos < BLOCK) {
          pending = Buffer.from(b.subarray(pos))
          break
        }
        const h = b.subarray(pos, pos + BLOCK)
        pos += BLOCK
        if (isZeroBlock(h)) {
          state = 'end'
          break
        }
        checkHeader(h)
        let name = cString(h, 0, 100)
        const magic = cString(h, 257, 6)
        if (magic.startsWith('ustar')) {
          const prefix = cString(h, 345, 155)
          if (prefix) name = `${prefix}/${name}`
        }
        const size = parseNumber(h, 124, 12)
        let type = String.fromCharCode(h[156])
        if (type === '\0') type = '0'
        remaining = size
        pad = (BLOCK - (size % BLOCK)) % BLOCK
        if (type === 'L' || type === 'x' || type === 'g') {
          metaType = type
          state = 'meta'
        } else {
          if (nextName !== undefined) {
            name = nextName
            nextName = undefined
          }
          entries++
          sink = type === '0' || type === '7' ? await onEntry({name, size, type: '0'}) : (await onEntry({name, size, type}), undefined)
          state = 'data'
        }
        if (remaining === 0) await finishEntry()
      } else if (state === 'data' || state === 'meta') {
        const n = Math.min(remaining, b.length - pos)
        const part = b.subarray(pos, pos + n)
        pos += n
        remaining -= n
        if (state === 'data') {
          if (sink) await sink.write(part)
        } else {
          meta.push(Buffer.from(part))
        }
        if (remaining === 0) await finishEntry()
      } else if (state === 'pad') {
        const n = Math.min(pad, b.length - pos)
        pos += n
        pad -= n
        if (pad === 0) state = 'header'
      }
    }
    if (state === 'end') break
  }
  if (state === 'data' || state === 'meta' || pending.length > 0) {
    throw new TarFormatError('the tar stream ends in the middle of an entry: the archive is truncated')
  }
  return entries
}

/** A sink writing to `dest` through a temporary name, renamed into place on success. */
export function fileSink(dest: string): TarSink & {abort(): Promise<void>} {
  const tmp = `${dest}.part-${process.pid}`
  const ws = createWriteStream(tmp)
  let error: Error | undefined
  ws.on('error', (e) => {
    error = e
  })
  return {
    async write(chunk) {
      if (error) throw error
      if (!ws.write(chunk)) await once(ws, 'drain')
    },
    async end() {
      if (error) throw error
      ws.end()
      await once(ws, 'finish')
      await rename(tmp, dest)
    },
    async abort() {
      ws.destroy()
      await unlink(tmp).catch(() => undefined)
    },
  }
}

/**
 * Unpacks selected members of a .tar.gz file. `select(memberName)` returns the destination path
 * for a member to keep, or undefined to skip it. Returns the destination paths written.
 */
export async function extractTarGz(archive: string, select: (name: string) => string | undefined): Promise<string[]> {
  const written: string[] = []
  const open: Array<ReturnType<typeof fileSink>> = []
  // pipeline: an error in either stream (missing file, bad gzip) ends the iteration below with it
  const input = pipeline(createReadStream(archive), createGunzip(), () => undefined)
  try {
    await readTar(input, (e) => {
      if (e.type !== '0') return undefined
      const dest = select(e.name)
      if (!dest) return undefined
      const s = fileSink(dest)
      open.push(s)
      return {
        write: (c) => s.write(c),
        end: async () => {
          await s.end()
          open.splice(open.indexOf(s), 1)
          written.push(dest)
        },
      }
    })
  } catch (e) {
    for (const s of open) await s.abort()
    input.destroy()
    throw e
  }
  input.destroy()
  return written
}
