/**
 * Images for `mixture predict`: the files and folders given, expanded (a folder gives every image
 * file under it, in `ImageFolder`'s order: image-files.ts), decoded (images.ts) and brought to the run's input the way its dataset
 * was loaded — centre-cropped to a square, then padded or resized to `image_size` as the run's
 * `data.resize` (or its dataset's default) does — and converted to floats by the run's evaluation
 * transforms (pixels scaled to [0, 1], then `normalize` where `data.augment` has one), exactly as
 * evaluation batches are.
 */
import {existsSync, statSync} from 'node:fs'
import {resolve} from 'node:path'
import {UsageError} from '../errors.js'
import type {ResolvedSpec} from '../schema/spec.js'
import {batches, type Split} from '../data/batches.js'
import {DataError} from '../data/errors.js'
import {IMAGE_EXTENSIONS, readImage} from '../data/images.js'
import {imageFilesUnder} from '../data/image-files.js'
import {decodedToImageSize, resizeMode, type ResizeMode} from '../data/image-size.js'
import {pipelinesFromConfig, type AugmentConfig} from '../data/pipeline.js'

/** The image files that `paths` name: files as given, folders expanded; a missing path or an empty folder is a UsageError. */
export function expandInputs(paths: string[]): string[] {
  if (paths.length === 0) throw new UsageError('give one or more image files (PNG, JPEG, ...) or folders of them after the run folder')
  const files: string[] = []
  for (const p of paths) {
    const path = resolve(p)
    if (!existsSync(path)) throw new UsageError(`${path} does not exist: give image files (${IMAGE_EXTENSIONS.join(', ')}) or folders holding them`)
    const stat = statSync(path)
    if (stat.isDirectory()) {
      const found = imageFilesUnder(path).files
      if (found.length === 0) throw new UsageError(`${path} holds no image files (${IMAGE_EXTENSIONS.join(', ')}), in it or in its subfolders`)
      files.push(...found)
    } else if (stat.isFile()) {
      files.push(path)
    } else {
      // A device, FIFO or socket: reading it would never end (/dev/zero) or block.
      throw new UsageError(`${path} is not a regular file or folder: give image files (${IMAGE_EXTENSIONS.join(', ')}) or folders holding them`)
    }
  }
  return files
}

/** How the run's images reached image_size, for messages and the result. */
export function describeResize(spec: ResolvedSpec): ResizeMode {
  return resizeMode(spec.data.dataset, spec.data)
}

/** One image file at the run's input size: uint8 S×S×3. */
async function loadInput(file: string, spec: ResolvedSpec): Promise<Uint8Array> {
  const size = spec.data.image_size
  const mode = describeResize(spec)
  let decoded
  try {
    decoded = await readImage(file)
  } catch (error) {
    if (!(error instanceof DataError)) throw error
    throw new DataError(`${error.message.replace(/\.$/, '')}; give image files (${IMAGE_EXTENSIONS.join(', ')}) that an image viewer opens, or leave this one out (--skip-bad leaves out every file that cannot be read, naming each).`)
  }
  try {
    return decodedToImageSize(decoded, size, mode, file)
  } catch (error) {
    if (!(error instanceof DataError) || mode !== 'pad') throw error
    const side = Math.min(decoded.width, decoded.height)
    throw new DataError(
      `${file} is ${side}×${side} after cropping to a square, larger than the run's ${size}×${size} input, and the run zero-pads its images to ${size}×${size} (data.resize: pad) instead of resizing them, so this image cannot reach the input the way the training images did. Resize it to the dataset's size (or at most ${size}×${size}) first.`,
    )
  }
}

/** An image left out by `skipBad`, and why. */
export interface SkippedInput {
  file: string
  reason: string
}

/**
 * The images as one evaluation split (labels 0), ready for `batches()` with `augment: false`, and
 * the files it holds, in order. An image that cannot be read or brought to the input is a DataError;
 * with `skipBad` it is left out and listed in `skipped` instead (none left is still an error).
 */
export async function loadInputs(files: string[], spec: ResolvedSpec, skipBad = false): Promise<{split: Split; files: string[]; skipped: SkippedInput[]}> {
  const size = spec.data.image_size
  const px = size * size * 3
  const images = new Uint8Array(files.length * px)
  const kept: string[] = []
  const skipped: SkippedInput[] = []
  for (const file of files) {
    try {
      images.set(await loadInput(file, spec), kept.length * px)
      kept.push(file)
    } catch (error) {
      if (!skipBad || !(error instanceof DataError)) throw error
      skipped.push({file, reason: error.message})
    }
  }
  if (kept.length === 0 && skipped.length > 0) throw new DataError(`none of the ${files.length} image(s) could be read: ${skipped[0].reason}`)
  const evalTransforms = pipelinesFromConfig(spec.data.augment as AugmentConfig).eval || undefined
  return {split: {images: images.subarray(0, kept.length * px), labels: new Uint8Array(kept.length), count: kept.length, evalTransforms}, files: kept, skipped}
}

/** The float batches of `split` (N×S×S×3), as evaluation makes them. */
export function inputBatches(split: Split, spec: ResolvedSpec, batchSize: number): ReturnType<typeof batches> {
  return batches(split, {batchSize, imageSize: spec.data.image_size, shuffle: false, seed: spec.seed, epoch: 0, augment: false})
}
