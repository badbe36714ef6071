/**
 * The on-disk cache of decoded image folders: both splits at `image_size` as uint8 (never
 * float32), one file per key — a SHA-256 of every file's contents with its label and path, the
 * image size and the resizing — so that a second run skips decoding, and a changed file, label or
 * size misses. Written to a temporary file and renamed: a cache file is whole or absent.
 *
 * Layout: `MMIMGC1\n`, uint32 LE header length, header JSON {size, train, test, skipped}, train
 * labels, test labels, train images, test images.
 */
import {createHash} from 'node:crypto'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {DatasetSplit} from '../registry/registry.js'

const MAGIC = 'MMIMGC1\n'

/** A file that could not be decoded: its path (relative to the folder) and why. */
export interface BadImage {
  path: string
  reason: string
}

export interface CachedSplits {
  train: DatasetSplit
  test: DatasetSplit
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
  let header: {size: number; train: number; test: number; skipped: BadImage[]}
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, start))
  } catch {
    return undefined
  }
  const px = size * size * 3
  const {train, test} = header
  if (header.size !== size || buf.length !== start + (train + test) * (1 + px)) return undefined
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
  let o = start
  const take = (n: number) => bytes.slice(o, (o += n))
  const trainLabels = take(train)
  const testLabels = take(test)
  return {
    train: {labels: trainLabels, images: take(train * px), count: train},
    test: {labels: testLabels, images: take(test * px), count: test},
    skipped: header.skipped ?? [],
  }
}

/** Writes the splits to `file` (temporary file, then rename). Returns why it could not, or undefined. */
export async function writeCache(file: string, size: number, data: CachedSplits): Promise<string | undefined> {
  const header = Buffer.from(JSON.stringify({size, train: data.train.count, test: data.test.count, skipped: data.skipped}), 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32LE(header.length)
  const tmp = `${file}.${process.pid}.tmp`
  try {
    await mkdir(dirname(file), {recursive: true})
    await writeFile(tmp, [Buffer.from(MAGIC, 'latin1'), length, header, data.train.labels.subarray(0, data.train.count), data.test.labels.subarray(0, data.test.count), data.train.images, data.test.images])
    await rename(tmp, file)
    return undefined
  } catch (error) {
    await rm(tmp, {force: true})
    return (error as Error).message
  }
}
