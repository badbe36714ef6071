/**
 * Bringing images stored at their native size to `image_size` × `image_size` RGB, once at load
 * time: centred zero padding (`resize: pad`) or the project's resize (resize.ts), then greyscale
 * replicated into three channels.
 */
import {DataError} from './errors.js'
import type {RawImages} from './formats.js'
import {greyToRgb, padGreyToRgb, padImages, resizeBilinear} from './resize.js'

/** Brings native-size images to `size` (pad or bilinear) and to 3 channels; `file` names them in errors. */
export function fit(raw: RawImages, size: number, mode: 'bilinear' | 'pad', file: string): Uint8Array {
  let img = raw.images
  if (raw.size !== size) {
    if (mode === 'pad') {
      if (size < raw.size) {
        throw new DataError(`data.resize is 'pad' but image_size ${size} is smaller than the ${raw.size}×${raw.size} images of ${file}; use resize: bilinear.`)
      }
      if (raw.channels === 1) return padGreyToRgb(img, raw.count, raw.size, size)
      img = padImages(img, raw.count, raw.size, size, raw.channels)
    } else {
      img = resizeBilinear(img, raw.count, raw.size, size, raw.channels)
    }
  }
  return raw.channels === 1 ? greyToRgb(img) : img
}
