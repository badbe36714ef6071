/**
 * The on-disk cache of decoded image folders: every decoded split (image-folder.ts: train, val and
 * test, or the whole folder before its test split is held out) at `image_size` as uint8 (never
 * float32), one file per key — a SHA-256 of every file's contents with its split, label and path,
 * the image size and the resizing — so that a second run skips decoding, and a changed file, label
 * or size misses. Written to a temporary file and renamed: a cache file is whole or absent.
 *
 * Layout: `MMIMGC2\n`, uint32 LE header length, header JSON {size, splits: [[name, count], ...],
 * skipped}, every split's labels in the header's order, then every split's images in that order.
 * Labels are bytes; where a split's are 16 bits (more than 256 classes) every split's are stored as
 * uint16 LE and the header says `label_bytes: 2` after `size` — so that a file of byte labels is
 * the one it always was, and the length check refuses a file read at the wrong width.
 * The magic is part of every key: a file of another layout (`MMIMGC1`, train and test only, split
 * before decoding) is never found, let alone read as this one.
 */
import {createHash} from 'node:crypto'
import {mkdir, readFile, rename, rm, writeFile} from 'node:fs/promises'
import {dirname} from 'node:path'

import type {DatasetSplit, LabelArray} from '../registry/registry.js'

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
  let header: {size: number; label_bytes?: number; splits: Array<[string, number]>; skipped: BadImage[]}
  try {
    header = JSON.parse(buf.toString('utf8', MAGIC.length + 4, start))
  } catch {
    return undefined
  }
  const px = size * size * 3
  const labelBytes = header.label_bytes ?? 1
  if (header.size !== size || !Array.isArray(header.splits) || (labelBytes !== 1 && labelBytes !== 2)) return undefined
  const total = header.splits.reduce((sum, [, count]) => sum + count, 0)
  if (buf.length !== start + total * (labelBytes + px)) return undefined
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
  const header = Buffer.from(JSON.stringify({size, ...(wide ? {label_bytes: 2} : {}), splits: splits.map(([name, s]) => [name, s.count]), skipped: data.skipped}), 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32LE(header.length)
  const tmp = `${file}.${process.pid}.tmp`
  try {
    await mkdir(dirname(file), {recursive: true})
    await writeFile(tmp, [Buffer.from(MAGIC, 'latin1'), length, header, ...splits.map(([, s]) => labelData(s)), ...splits.map(([, s]) => s.images)])
    await rename(tmp, file)
    return undefined
  } catch (error) {
    await rm(tmp, {force: true})
    return (error as Error).message
  }
}
