/**
 * The on-disk cache of decoded image folders: every decoded split (image-folder.ts: train, val and
 * test, or the whole folder before its test split is held out) at `image_size` as uint8 (never
 * float32), one file per key — a SHA-256 of every file's contents with its split, label and path,
 * the image size and the resizing — so that a second run skips decoding, and a changed file, label
 * or size misses. Written to a temporary file and renamed: a cache file is whole or absent.
 *
 * Layout: `MMIMGC2\n`, uint32 LE header length, header JSON {size, splits: [[name, count], ...],
 * skipped}, every split's labels in the header's order, then every split's images in that order.
 * The magic is part of every key: a file of another layout (`MMIMGC1`, train and test only, split
 * before decoding) is never found, let alone read as this one.
 */
import {createHash} from 'node:crypto'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {DatasetSplit} from '../registry/registry.js'

const MAGIC = 'MMIMGC2\n'

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

/** The cached splits in `file`, or undefined when there is none or it does not hold images of `size` (then it is rebuilt). */
export async function readCache(file: string, size: number): Promise<CachedSplits | undefined> {
  let buf: Buffer
  try {
    buf = await readFile(file)
  } catch {
    return undefined
  }
  if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined
  const headerLength = buf.readUInt32LE(MAGIC.length)
  const start = MAGIC.length + 4 + headerLength
  let header: {size: number; splits: Array<[string, number]>; skipped: BadImage[]}
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, start))
  } catch {
    return undefined
  }
  const px = size * size * 3
  if (header.size !== size || !Array.isArray(header.splits)) return undefined
  const total = header.splits.reduce((sum, [, count]) => sum + count, 0)
  if (buf.length !== start + total * (1 + px)) return undefined
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
  let o = start
  const take = (n: number) => bytes.slice(o, (o += n))
  const labels = header.splits.map(([, count]) => take(count))
  const splits: Record<string, DatasetSplit> = {}
  header.splits.forEach(([name, count], i) => {
    splits[name] = {labels: labels[i], images: take(count * px), count}
  })
  return {splits, skipped: header.skipped ?? []}
}

/** Writes the splits to `file` (temporary file, then rename). Returns why it could not, or undefined. */
export async function writeCache(file: string, size: number, data: CachedSplits): Promise<string | undefined> {
  const splits = Object.entries(data.splits)
  const header = Buffer.from(JSON.stringify({size, splits: splits.map(([name, s]) => [name, s.count]), skipped: data.skipped}), 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32LE(header.length)
  const tmp = `${file}.${process.pid}.tmp`
  try {
    await mkdir(dirname(file), {recursive: true})
    await writeFile(tmp, [Buffer.from(MAGIC, 'latin1'), length, header, ...splits.map(([, s]) => s.labels.subarray(0, s.count)), ...splits.map(([, s]) => s.images)])
    await rename(tmp, file)
    return undefined
  } catch (error) {
    await rm(tmp, {force: true})
    return (error as Error).message
  }
}
