/**
 * Decoders for the official binary formats. Each checks the file's size and header and every
 * label, and throws a DataError naming the file on anything unexpected: a truncated or corrupt
 * file never turns into silent garbage.
 *
 * Output is uint8, NHWC (row-major, channels last), at the format's native size:
 *   - CIFAR-10/100: records of label byte(s) + 1024 R + 1024 G + 1024 B, each plane row-major 32×32.
 *   - STL-10: 3×96×96 per image, each channel plane stored column-major; labels 1..10 → 0..9.
 *   - IDX (MNIST, Fashion-MNIST): big-endian header (magic 2051 images / 2049 labels, then the
 *     dimensions), uint8 data; gzip'd or not (detected from the gzip magic bytes, not the name).
 */
import {promisify} from 'node:util'
import {gunzip} from 'node:zlib'

import type {LabelArray} from '../registry/registry.js'
import {DataError} from './errors.js'

const gunzipAsync = promisify(gunzip)

/** Images at native size. `channels` is 1 for greyscale formats (expanded to RGB later). The official formats' labels are bytes. */
export interface RawImages {
  images: Uint8Array
  labels: LabelArray
  count: number
  size: number
  channels: 1 | 3
}

const CIFAR_PIXELS = 32 * 32
const CIFAR_IMAGE = CIFAR_PIXELS * 3

/** CIFAR-10: 1 label byte; CIFAR-100: coarse then fine label byte. */
export interface CifarFormat {
  dataset: 'CIFAR-10' | 'CIFAR-100'
  labelBytes: 1 | 2
  /** Upper bound (exclusive) for each label byte. */
  labelLimits: number[]
  /** Which label byte to keep. */
  labelIndex: number
  /** Where the official archive is, for messages. */
  url?: string
}

export const CIFAR10_FORMAT: CifarFormat = {dataset: 'CIFAR-10', labelBytes: 1, labelLimits: [10], labelIndex: 0}

export function cifar100Format(mode: 'fine' | 'coarse'): CifarFormat {
  return {dataset: 'CIFAR-100', labelBytes: 2, labelLimits: [20, 100], labelIndex: mode === 'coarse' ? 0 : 1}
}

function redownload(url?: string): string {
  return url ? ` Replace it with a fresh copy from the official release (${url}).` : ' Replace it with a fresh copy of the official file.'
}

/** Number of records in a CIFAR binary file, after checking that its size is a whole number of records. */
export function cifarRecordCount(buf: Uint8Array, file: string, fmt: CifarFormat): number {
  const rec = fmt.labelBytes + CIFAR_IMAGE
  if (buf.length === 0 || buf.length % rec !== 0) {
    throw new DataError(
      `File ${file} has ${buf.length} bytes, which is not a whole number of ${rec}-byte ${fmt.dataset} records ` +
        `(${fmt.labelBytes === 1 ? '1 label byte' : '2 label bytes (coarse, fine)'} + 3072 pixel bytes): the file is truncated, corrupt, or not the ${fmt.dataset} binary version.` +
        redownload(fmt.url),
    )
  }
  return buf.length / rec
}

/**
 * Decodes up to `max` CIFAR records into `images`/`labels` starting at example `offset`.
 * Channel planes (R, G, B, each 32×32 row-major) become interleaved NHWC pixels.
 * Returns the number of records decoded.
 */
export function decodeCifarInto(
  buf: Uint8Array,
  file: string,
  fmt: CifarFormat,
  images: Uint8Array,
  labels: LabelArray,
  offset: number,
  max = Infinity,
): number {
  const total = cifarRecordCount(buf, file, fmt)
  const n = Math.min(total, max)
  const rec = fmt.labelBytes + CIFAR_IMAGE
  for (let i = 0; i < n; i++) {
    const base = i * rec
    for (let k = 0; k < fmt.labelBytes; k++) {
      const l = buf[base + k]
      if (l >= fmt.labelLimits[k]) {
        const what = fmt.labelBytes === 1 ? 'label' : k === 0 ? 'coarse label' : 'fine label'
        throw new DataError(
          `File ${file}: record ${i} (byte offset ${base + k}) has ${what} ${l}, but ${fmt.dataset} ${what}s are 0..${fmt.labelLimits[k] - 1}: ` +
            `the file is corrupt or not the ${fmt.dataset} binary version.` +
            redownload(fmt.url),
        )
      }
    }
    labels[offset + i] = buf[base + fmt.labelIndex]
    const px = base + fmt.labelBytes
    const out = (offset + i) * CIFAR_IMAGE
    for (let p = 0; p < CIFAR_PIXELS; p++) {
      const o = out + p * 3
      images[o] = buf[px + p]
      images[o + 1] = buf[px + CIFAR_PIXELS + p]
      images[o + 2] = buf[px + 2 * CIFAR_PIXELS + p]
    }
  }
  return n
}

/** Decodes a list of CIFAR files (in order) into one split, keeping at most `limit` examples. */
export function decodeCifarFiles(files: Array<{path: string; data: Uint8Array}>, fmt: CifarFormat, limit = Infinity): RawImages {
  let total = 0
  for (const f of files) total += cifarRecordCount(f.data, f.path, fmt)
  const count = Math.min(total, limit)
  const images = new Uint8Array(count * CIFAR_IMAGE)
  const labels = new Uint8Array(count)
  let offset = 0
  for (const f of files) {
    if (offset >= count) break
    offset += decodeCifarInto(f.data, f.path, fmt, images, labels, offset, count - offset)
  }
  return {images, labels, count, size: 32, channels: 3}
}

const STL_SIZE = 96
const STL_PLANE = STL_SIZE * STL_SIZE
const STL_IMAGE = STL_PLANE * 3

/**
 * STL-10 binary: `X` holds N images of 3×96×96 bytes, each channel plane column-major
 * (byte `c*9216 + col*96 + row`); `y` holds N label bytes 1..10, returned as 0..9.
 */
export function decodeStl10(x: {path: string; data: Uint8Array}, y: {path: string; data: Uint8Array}, limit = Infinity, url?: string): RawImages {
  if (x.data.length === 0 || x.data.length % STL_IMAGE !== 0) {
    throw new DataError(
      `File ${x.path} has ${x.data.length} bytes, which is not a whole number of ${STL_IMAGE}-byte STL-10 images (3×96×96): the file is truncated or corrupt.` +
        redownload(url),
    )
  }
  const total = x.data.length / STL_IMAGE
  if (y.data.length !== total) {
    throw new DataError(
      `Files ${x.path} and ${y.path} do not match: the image file holds ${total} images but the label file has ${y.data.length} labels (one byte each). One of them is truncated or they come from different splits.` +
        redownload(url),
    )
  }
  const count = Math.min(total, limit)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const l = y.data[i]
    if (l < 1 || l > 10) {
      throw new DataError(
        `File ${y.path}: label ${i} is ${l}, but STL-10 labels are 1..10: the file is corrupt or not an STL-10 label file.` + redownload(url),
      )
    }
    labels[i] = l - 1
  }
  const images = new Uint8Array(count * STL_IMAGE)
  const src = x.data
  for (let n = 0; n < count; n++) {
    const inBase = n * STL_IMAGE
    const outBase = n * STL_IMAGE
    for (let c = 0; c < 3; c++) {
      const plane = inBase + c * STL_PLANE
      for (let col = 0; col < STL_SIZE; col++) {
        const colBase = plane + col * STL_SIZE
        let o = outBase + col * 3 + c
        for (let row = 0; row < STL_SIZE; row++) {
          images[o] = src[colBase + row]
          o += STL_SIZE * 3
        }
      }
    }
  }
  return {images, labels, count, size: STL_SIZE, channels: 3}
}

/** gunzips when the data starts with the gzip magic bytes; otherwise returns it unchanged. */
export async function maybeGunzip(data: Uint8Array, file: string, url?: string): Promise<Uint8Array> {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) {
    try {
      return await gunzipAsync(data)
    } catch (e) {
      throw new DataError(
        `File ${file} is a damaged gzip file (${(e as Error).message}): it is truncated or corrupt.` + redownload(url),
        {cause: e},
      )
    }
  }
  return data
}

export interface IdxArray {
  dims: number[]
  data: Uint8Array
}

const IDX_IMAGES = 2051
const IDX_LABELS = 2049

/** Parses an (un-gzipped) IDX file of unsigned bytes, checking the magic number and the size. */
export function parseIdx(buf: Uint8Array, file: string, expectMagic: number, url?: string): IdxArray {
  const kind = expectMagic === IDX_IMAGES ? 'image' : 'label'
  const ndims = expectMagic & 0xff
  const header = 4 + 4 * ndims
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  if (buf.length < 4) {
    throw new DataError(`File ${file} has only ${buf.length} bytes, too short for an IDX ${kind} file: it is truncated.` + redownload(url))
  }
  const magic = view.getUint32(0, false)
  if (magic !== expectMagic) {
    throw new DataError(
      `File ${file} is not an IDX ${kind} file: its magic number is ${magic} (0x${magic.toString(16).padStart(8, '0')}), expected ${expectMagic} ` +
        `(0x${expectMagic.toString(16).padStart(8, '0')}, unsigned bytes, ${ndims} dimension${ndims > 1 ? 's' : ''}). ` +
        `It may be a different file under this name, or corrupt.` +
        redownload(url),
    )
  }
  if (buf.length < header) {
    throw new DataError(`File ${file} has only ${buf.length} bytes, shorter than its ${header}-byte IDX header: it is truncated.` + redownload(url))
  }
  const dims: number[] = []
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false))
  const n = dims.reduce((a, b) => a * b, 1)
  if (buf.length !== header + n) {
    throw new DataError(
      `File ${file} has ${buf.length} bytes, but its IDX header (${dims.join('×')} unsigned bytes) needs exactly ${header + n}: ` +
        `the file is ${buf.length < header + n ? 'truncated' : 'corrupt (trailing bytes)'}.` +
        redownload(url),
    )
  }
  return {dims, data: buf.subarray(header)}
}

/**
 * Decodes an IDX image file (N×rows×cols) and label file (N) into greyscale images.
 * Labels must be below `numClasses`.
 */
export function decodeIdxPair(
  imgs: {path: string; data: Uint8Array},
  lbls: {path: string; data: Uint8Array},
  numClasses: number,
  limit = Infinity,
  url?: string,
): RawImages {
  const im = parseIdx(imgs.data, imgs.path, IDX_IMAGES, url)
  const lb = parseIdx(lbls.data, lbls.path, IDX_LABELS, url)
  const [total, rows, cols] = im.dims
  if (rows !== cols) {
    throw new DataError(`File ${imgs.path} holds ${rows}×${cols} images; only square images are supported.`)
  }
  if (rows === 0 || total === 0) {
    throw new DataError(`File ${imgs.path} holds ${total === 0 ? 'no images' : `images of ${rows}×${cols} pixels`}: the file is damaged or not the dataset's.` + redownload(url))
  }
  if (lb.dims[0] !== total) {
    throw new DataError(
      `Files ${imgs.path} and ${lbls.path} do not match: ${total} images but ${lb.dims[0]} labels. One of them is truncated or they come from different splits.` +
        redownload(url),
    )
  }
  const count = Math.min(total, limit)
  const labels = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const l = lb.data[i]
    if (l >= numClasses) {
      throw new DataError(`File ${lbls.path}: label ${i} is ${l}, but labels must be 0..${numClasses - 1}: the file is corrupt.` + redownload(url))
    }
    labels[i] = l
  }
  const images = im.data.subarray(0, count * rows * cols)
  return {images, labels, count, size: rows, channels: 1}
}

