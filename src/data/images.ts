/**
 * Image files → uint8 RGB pixels, through sharp (libvips with libjpeg-turbo and libpng: the same
 * decoders Pillow uses, so JPEG pixels equal those of torchvision's `ImageFolder` loader). Like
 * Pillow's `convert('RGB')`: greyscale is replicated into three channels, an alpha channel is
 * dropped (not composited), palette images are expanded, CMYK is converted by Pillow's formula
 * (not through a colour profile), 16-bit greyscale PNGs are clipped to 255 as Pillow clips them, an
 * embedded colour profile (a phone's Display P3, a camera's Adobe RGB) is not applied — the stored
 * values are the pixels — and the EXIF orientation is not applied.
 * Every failure is a DataError that names the file.
 */
import {openSync, readSync, closeSync, readFileSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {extname} from 'node:path'

import {imageSize} from 'image-size'
import {DataError} from './errors.js'

/**
 * What decodeImage gives, as a number that changes when it does (a cache of decoded images keys on
 * it): 2 since CMYK and 16-bit greyscale decode as Pillow's, 3 since colour profiles are ignored.
 */
export const DECODER_VERSION = 3

/** File extensions read as images (case-insensitive); other files in an image folder are ignored. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff']

export function isImageFile(path: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase())
}

/** Decoded pixels: height × width × 3 uint8, row-major, channels last. */
export interface DecodedImage {
  data: Uint8Array
  width: number
  height: number
}

type Sharp = typeof import('sharp').default
let sharpModule: Promise<Sharp> | undefined

/** sharp, loaded on first use so that everything else runs where its prebuilt binaries are missing. */
async function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then(
    (m) => {
      const sharp = m.default
      // No operation cache: a folder streams through once, and memory stays bounded.
      sharp.cache(false)
      return sharp
    },
    (error: Error) => {
      sharpModule = undefined
      throw new DataError(`Decoding images needs the sharp package and its prebuilt binaries for this platform (npm install sharp): ${error.message.split('\n')[0]}`)
    },
  )
  return sharpModule
}

/** Decodes the bytes of a PNG/JPEG/WebP/GIF/TIFF file (`path` names it in errors). */
export async function decodeImage(bytes: Uint8Array, path: string): Promise<DecodedImage> {
  const sharp = await loadSharp()
  try {
    if (mayBeCmyk(bytes) && (await sharp(bytes).metadata()).space === 'cmyk') return await decodeCmyk(sharp, bytes)
    if (isGrey16Png(bytes)) return await decodeGrey16(sharp, bytes)
    // ignoreIcc: sharp would convert through an embedded profile; Pillow's convert('RGB') keeps the stored values.
    const {data, info} = await sharp(bytes, {failOn: 'warning', ignoreIcc: true}).removeAlpha().toColourspace('srgb').raw({depth: 'uchar'}).toBuffer({resolveWithObject: true})
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels instead of 3`)
    return {data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height}
  } catch (error) {
    throw new DataError(`Cannot decode image ${path}: ${(error as Error).message.split('\n')[0]}.`, {cause: error})
  }
}

/**
 * Whether the file can hold CMYK: a TIFF, or a JPEG whose frame header (SOFn) has 4 components —
 * read from the bytes, so that the common RGB and greyscale JPEGs skip the second header parse
 * sharp's metadata() would cost (about 40 % of decoding a 96×96 JPEG).
 */
function mayBeCmyk(bytes: Uint8Array): boolean {
  if ((bytes[0] === 0x49 && bytes[1] === 0x49) || (bytes[0] === 0x4d && bytes[1] === 0x4d)) return true // TIFF (II or MM)
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return false
  for (let at = 2; at + 9 < bytes.length; ) {
    if (bytes[at] !== 0xff) return false
    const marker = bytes[at + 1]
    if (marker === 0xff) {
      at++ // fill byte
      continue
    }
    // SOF0–SOF15 but DHT (C4), JPG (C8) and DAC (CC): length, precision, height, width, then the component count.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[at + 9] === 4
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2 // markers without a length
      continue
    }
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3])
  }
  return false
}

/**
 * A CMYK image (JPEG, TIFF) as Pillow's `convert('RGB')` makes it: the stored C, M, Y, K values (an
 * Adobe JPEG's inverted ones turned back, as both decoders do) through Pillow's formula, each of R, G,
 * B = (255 − K) − C·(255 − K)/255 in its integer rounding — where sharp by default would convert
 * through a colour profile and give other pixels.
 */
async function decodeCmyk(sharp: Sharp, bytes: Uint8Array): Promise<DecodedImage> {
  const {data, info} = await sharp(bytes, {failOn: 'warning', ignoreIcc: true}).pipelineColourspace('cmyk').toColourspace('cmyk').raw({depth: 'uchar'}).toBuffer({resolveWithObject: true})
  if (info.channels < 4) throw new Error(`a CMYK image decoded to ${info.channels} channels`)
  const pixels = info.width * info.height
  const rgb = new Uint8Array(pixels * 3)
  for (let i = 0; i < pixels; i++) {
    const at = i * info.channels
    const nk = 255 - data[at + 3]
    for (let c = 0; c < 3; c++) {
      const t = data[at + c] * nk + 128
      rgb[i * 3 + c] = Math.max(0, nk - (((t >> 8) + t) >> 8))
    }
  }
  return {data: rgb, width: info.width, height: info.height}
}

/** A greyscale PNG with 16 bits per sample: IHDR, the first chunk, has the bit depth at byte 24 and the colour type (0) at 25. */
function isGrey16Png(bytes: Uint8Array): boolean {
  return bytes.length > 25 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47 && bytes[24] === 16 && bytes[25] === 0
}

/**
 * A 16-bit greyscale PNG as Pillow's `convert('RGB')` makes it: Pillow opens it as an integer image
 * and clips its values to 255 (sharp would keep the high byte, as Pillow does for 16-bit RGB, RGBA
 * and greyscale with alpha, which the usual path decodes alike).
 */
async function decodeGrey16(sharp: Sharp, bytes: Uint8Array): Promise<DecodedImage> {
  const {data, info} = await sharp(bytes, {failOn: 'warning', ignoreIcc: true}).toColourspace('grey16').raw({depth: 'ushort'}).toBuffer({resolveWithObject: true})
  const samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2)
  const pixels = info.width * info.height
  const rgb = new Uint8Array(pixels * 3)
  for (let i = 0; i < pixels; i++) rgb.fill(Math.min(samples[i * info.channels], 255), i * 3, i * 3 + 3)
  return {data: rgb, width: info.width, height: info.height}
}

/** Reads and decodes one image file. */
export async function readImage(path: string): Promise<DecodedImage> {
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(await readFile(path))
  } catch (error) {
    throw new DataError(`Cannot read image ${path}: ${(error as Error).message}.`, {cause: error})
  }
  return decodeImage(bytes, path)
}

const HEADER_BYTES = 1 << 16

/** Width and height from the file's header, without decoding it (synchronous; reads the whole file only when the header is long). */
export function imageDimensions(path: string): {width: number; height: number} {
  let head: Uint8Array
  try {
    const fd = openSync(path, 'r')
    try {
      const buf = new Uint8Array(HEADER_BYTES)
      head = buf.subarray(0, readSync(fd, buf, 0, HEADER_BYTES, 0))
    } finally {
      closeSync(fd)
    }
  } catch (error) {
    throw new DataError(`Cannot read image ${path}: ${(error as Error).message}.`, {cause: error})
  }
  const measure = (bytes: Uint8Array) => {
    const d = imageSize(bytes)
    if (!d.width || !d.height) throw new Error('no width and height in its header')
    // EXIF orientation is not applied (as Pillow's loader does not): the stored width and height.
    return {width: d.width, height: d.height}
  }
  try {
    return measure(head)
  } catch (first) {
    if (head.length < HEADER_BYTES) throw new DataError(`Cannot read the size of image ${path}: ${(first as Error).message}.`, {cause: first})
    try {
      return measure(new Uint8Array(readFileSync(path)))
    } catch (error) {
      throw new DataError(`Cannot read the size of image ${path}: ${(error as Error).message}.`, {cause: error})
    }
  }
}

/**
 * The centred largest square of an image (torchvision's `center_crop` offsets: round((h − s) / 2)
 * with halves to even), so that non-square images can be resized to image_size × image_size.
 */
export function centreSquare(img: DecodedImage): {data: Uint8Array; side: number} {
  const side = Math.min(img.width, img.height)
  if (img.width === img.height) return {data: img.data, side}
  const top = roundHalfEven((img.height - side) / 2)
  const left = roundHalfEven((img.width - side) / 2)
  const out = new Uint8Array(side * side * 3)
  for (let y = 0; y < side; y++) {
    const s = ((top + y) * img.width + left) * 3
    out.set(img.data.subarray(s, s + side * 3), y * side * 3)
  }
  return {data: out, side}
}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r
}
