/**
 * The on-disk cache of decoded image folders: every decoded split (image-folder.ts: train, val and
 * test, or the whole folder before its test split is held out) at `image_size` as uint8 (never
 * float32), one file per key — a SHA-256 of every file's contents with its split, label and path,
 * the image size and the resizing — so that a second run skips decoding, and a changed file, label
 * or size misses. Written to a temporary file and renamed: a cache file is whole or absent; and
 * checked whole when read (a SHA-256 of its data), so that damage to it is decoded afresh, not
 * trained on.
 *
 * Layout: `MMIMGC3\n`, uint32 LE header length, header JSON {size, splits: [[name, count], ...],
 * skipped, sha256}, every split's labels in the header's order, then every split's images in that
 * order; `sha256` is the hex SHA-256 of everything after the header.
 * Labels are bytes; where a split's are 16 bits (more than 256 classes) every split's are stored as
 * uint16 LE and the header says `label_bytes: 2` after `size` — so that a file of byte labels is
 * the one it always was, and the length check refuses a file read at the wrong width.
 * The magic is part of every key: a file of another layout (`MMIMGC1`, train and test only, split
 * before decoding; `MMIMGC2`, without the checksum) is never found, let alone read as this one.
 */
import {createHash} from 'node:crypto'
import {closeSync, openSync, readdirSync, readSync, rmSync, statSync} from 'node:fs'
import {mkdir, readFile, rename, rm, utimes, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'

import type {DatasetSplit, LabelArray} from '../registry/registry.js'
import {userCacheDir} from './locate.js'
import {DataError} from './errors.js'

const MAGIC = 'MMIMGC3\n'

/** The folder of the cache files: image_folder/ in the user cache (XDG_CACHE_HOME, else ~/.cache). */
export function imageCacheDir(): string {
  return join(userCacheDir(), 'image_folder')
}

/** A file that could not be decoded: its path (relative to the folder) and why. */
export interface BadImage {
  path: string
  reason: string
}

export interface CachedSplits {
  /** The decoded splits by name, in the order they are stored. */
  splits: Record<string, DatasetSplit>
  skipped: BadImage[]
}

/** SHA-256 of a file's bytes (hex). */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Incremental cache key: feed it every file (in load order) and the settings, then read `digest()`. */
export class CacheKey {
  private readonly hash = createHash('sha256')

  constructor(settings: Record<string, unknown>) {
    this.hash.update(`${MAGIC}${JSON.stringify(settings)}\n`)
  }

  /** One file: its split, label, path relative to the folder, and `contentHash` of its bytes. */
  file(split: string, label: number, relPath: string, content: string): void {
    this.hash.update(`${split}\t${label}\t${relPath}\t${content}\n`)
  }

  digest(): string {
    return this.hash.digest('hex')
  }
}

/**
 * The cached splits in `file`; undefined when there is none, or it does not hold images of `size`;
 * or why it is damaged (cut short, or data that do not match their checksum). Either way but the
 * first, the images are decoded again and the file rewritten.
 */
export async function readCache(file: string, size: number): Promise<CachedSplits | {damaged: string} | undefined> {
  let buf: Buffer
  try {
    buf = await readFile(file)
  } catch {
    return undefined
  }
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined
  const headerLength = buf.readUInt32LE(MAGIC.length)
  const start = MAGIC.length + 4 + headerLength
  let header: {size: number; label_bytes?: number; splits: Array<[string, number]>; skipped: BadImage[]; sha256: string}
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, start))
  } catch {
    return {damaged: 'its header is not JSON'}
  }
  const px = size * size * 3
  const labelBytes = header.label_bytes ?? 1
  if (header.size !== size || !Array.isArray(header.splits) || (labelBytes !== 1 && labelBytes !== 2)) return undefined
  const total = header.splits.reduce((sum, [, count]) => sum + count, 0)
  if (buf.length !== start + total * (labelBytes + px)) return {damaged: `it is ${buf.length.toLocaleString('en-US')} bytes long, not the ${(start + total * (labelBytes + px)).toLocaleString('en-US')} its header says`}
  if (header.sha256 !== contentHash(buf.subarray(start))) return {damaged: 'its images and labels do not match their checksum'}
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
  let o = start
  const take = (n: number) => bytes.slice(o, (o += n))
  const takeLabels = (count: number): LabelArray => {
    if (labelBytes === 1) return take(count)
    const wide = new Uint16Array(count)
    for (let i = 0; i < count; i++, o += 2) wide[i] = buf.readUInt16LE(o)
    return wide
  }
  const labels = header.splits.map(([, count]) => takeLabels(count))
  const splits: Record<string, DatasetSplit> = {}
  header.splits.forEach(([name, count], i) => {
    splits[name] = {labels: labels[i], images: take(count * px), count}
  })
  // The file's time is when it was last used (`mixture data cache --older-than` removes the unused); best effort.
  const now = new Date()
  await utimes(file, now, now).catch(() => undefined)
  return {splits, skipped: header.skipped ?? []}
}

/** Writes the splits to `file` (temporary file, then rename). Returns why it could not, or undefined. */
export async function writeCache(file: string, size: number, data: CachedSplits): Promise<string | undefined> {
  const splits = Object.entries(data.splits)
  const wide = splits.some(([, s]) => s.labels instanceof Uint16Array)
  // Little-endian whatever the machine's order, as the header length is.
  const labelData = (s: DatasetSplit): Uint8Array => {
    if (!wide && s.labels instanceof Uint8Array) return s.labels.subarray(0, s.count)
    const out = Buffer.alloc(2 * s.count)
    for (let i = 0; i < s.count; i++) out.writeUInt16LE(s.labels[i], 2 * i)
    return out
  }
  const body = [...splits.map(([, s]) => labelData(s)), ...splits.map(([, s]) => s.images)]
  const sha256 = body.reduce((hash, part) => hash.update(part), createHash('sha256')).digest('hex')
  const header = Buffer.from(JSON.stringify({size, ...(wide ? {label_bytes: 2} : {}), splits: splits.map(([name, s]) => [name, s.count]), skipped: data.skipped, sha256}), 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32LE(header.length)
  const tmp = `${file}.${process.pid}.tmp`
  try {
    await mkdir(dirname(file), {recursive: true})
    await writeFile(tmp, [Buffer.from(MAGIC, 'latin1'), length, header, ...body])
    await rename(tmp, file)
    return undefined
  } catch (error) {
    await rm(tmp, {force: true})
    return (error as Error).message
  }
}

/** A file of the cache folder, as `mixture data cache` lists it. */
export interface CacheEntry {
  file: string
  bytes: number
  /** When it was written or last read (its modification time). */
  lastUsed: Date
  /** The decoded images it holds (side, count per split); undefined for a file that is not a whole cache file of this layout. */
  holds?: {size: number; splits: Array<[string, number]>}
  /** A temporary file a write left (a killed run's): never read, safe to remove once no write can be under way. */
  temporary: boolean
}

/** A cache file's header (side, splits), read without its data; undefined where it is not one of this layout. */
function headerOf(file: string): CacheEntry['holds'] {
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const head = Buffer.alloc(MAGIC.length + 4)
    if (readSync(fd, head, 0, head.length, 0) !== head.length || head.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined
    const length = head.readUInt32LE(MAGIC.length)
    if (length > 64 * 2 ** 20) return undefined
    const json = Buffer.alloc(length)
    if (readSync(fd, json, 0, length, head.length) !== length) return undefined
    const header = JSON.parse(json.toString('utf8')) as {size?: unknown; splits?: unknown}
    return typeof header.size === 'number' && Array.isArray(header.splits) ? {size: header.size, splits: header.splits as Array<[string, number]>} : undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** The names a cache file and its write's temporary file have (image-folder.ts: `<folder>-<32 hex>.bin`, then `.<pid>.tmp`). */
const CACHE_NAME = /-[0-9a-f]{32}\.bin(\.\d+\.tmp)?$/

/**
 * The cache files in the cache folder `dir` (none where it does not exist), most recently used
 * first. Files not named as the cache names them (the user's own) are not the cache's: left out.
 */
export function cacheEntries(dir: string): CacheEntry[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return []
    if (code === 'ENOTDIR') throw new DataError(`the cache folder ${dir} is not a folder (a file stands in its place, or in one of its parents'): move it away, or point XDG_CACHE_HOME elsewhere`)
    throw error
  }
  const entries: CacheEntry[] = []
  for (const name of names.filter((n) => CACHE_NAME.test(n))) {
    const file = join(dir, name)
    const stat = statSync(file, {throwIfNoEntry: false})
    if (!stat?.isFile()) continue
    const temporary = name.endsWith('.tmp')
    const holds = temporary ? undefined : headerOf(file)
    entries.push({file, bytes: stat.size, lastUsed: stat.mtime, ...(holds ? {holds} : {}), temporary})
  }
  return entries.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime())
}

/** How long a temporary file may be a write under way: older ones are a killed run's. */
const WRITE_UNDER_WAY_MS = 60 * 60 * 1000

/**
 * Removes the entries unused for `olderThanDays` (all where undefined), files of another layout
 * (an earlier version's, never read again: the magic is in the key) and temporary files a killed
 * write left (an hour old or more: a younger one may be a write under way). Each removal is whole:
 * the next run that needs a removed file decodes its folder again and writes it anew.
 */
export function pruneCache(entries: CacheEntry[], olderThanDays: number | undefined, {now = Date.now(), dryRun = false}: {now?: number; dryRun?: boolean} = {}): CacheEntry[] {
  const removed: CacheEntry[] = []
  for (const entry of entries) {
    const age = now - entry.lastUsed.getTime()
    const due = entry.temporary ? age >= WRITE_UNDER_WAY_MS : !entry.holds || olderThanDays === undefined || age >= olderThanDays * 86_400_000
    if (!due) continue
    if (!dryRun) rmSync(entry.file, {force: true})
    removed.push(entry)
  }
  return removed
}
