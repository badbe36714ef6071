/**
 * Bringing images stored at their native size to `image_size` × `image_size` RGB, once at load
 * time: centred zero padding (`resize: pad`) or a resize (resize.ts: `pil_bilinear`, Pillow's
 * `Image.resize(BILINEAR)`, antialiased when downscaling; `bilinear`, 4-tap without antialiasing),
 * then greyscale replicated into three channels.
 */
import {DATASETS} from './catalog.js'
import {DataError} from './errors.js'
import type {RawImages} from './formats.js'
import {centreSquare, type DecodedImage} from './images.js'
import {greyToRgb, padGreyToRgb, padImages, resizeBilinear, resizePil} from './resize.js'

/** How images of another size reach `image_size` (`data.resize`). */
export type ResizeMode = 'pil_bilinear' | 'bilinear' | 'pad'
export const RESIZE_MODES: readonly ResizeMode[] = ['pil_bilinear', 'bilinear', 'pad']
/** The words the load log uses for each mode. */
export const RESIZE_WORDS: Record<ResizeMode, string> = {pil_bilinear: 'Pillow bilinear (antialiased) resize', bilinear: '4-tap bilinear resize', pad: 'zero padding'}

/**
 * How images of another size reach `image_size` for `dataset`: `data.resize`, else zero padding for
 * MNIST and Fashion-MNIST up to at least their 28×28, and Pillow's bilinear for everything else
 * (image folders too).
 */
export function resizeMode(dataset: string, cfg: {image_size: number; resize?: unknown}): ResizeMode {
  if (RESIZE_MODES.includes(cfg.resize as ResizeMode)) return cfg.resize as ResizeMode
  const info = DATASETS[dataset]
  const isGrey = dataset === 'mnist' || dataset === 'fashion_mnist'
  return isGrey && info && cfg.image_size >= info.nativeSize ? 'pad' : 'pil_bilinear'
}

/** Brings native-size images to `size` (pad or resize) and to 3 channels; `file` names them in errors. */
export function toImageSize(raw: RawImages, size: number, mode: ResizeMode, file: string): Uint8Array {
  let img = raw.images
  if (raw.size !== size) {
    if (mode === 'pad') {
      if (size < raw.size) {
        throw new DataError(`data.resize is 'pad' but image_size ${size} is smaller than the ${raw.size}×${raw.size} images of ${file}; use resize: pil_bilinear.`)
      }
      if (raw.channels === 1) return padGreyToRgb(img, raw.count, raw.size, size)
      img = padImages(img, raw.count, raw.size, size, raw.channels)
    } else {
      img = (mode === 'bilinear' ? resizeBilinear : resizePil)(img, raw.count, raw.size, size, raw.channels)
    }
  }
  return raw.channels === 1 ? greyToRgb(img) : img
}

/** One decoded image at `size` × `size` × 3: centre-cropped to a square, then toImageSize (an image folder's images, and predict's). */
export function decodedToImageSize(img: DecodedImage, size: number, mode: ResizeMode, file: string): Uint8Array {
  const square = centreSquare(img)
  return toImageSize({images: square.data, labels: new Uint8Array(1), count: 1, size: square.side, channels: 3}, size, mode, file)
}
