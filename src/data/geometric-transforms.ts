/**
 * The geometric transforms of `data.augment`, after torchvision 0.14's tensor transforms: `hflip`
 * (RandomHorizontalFlip), `random_crop` (RandomCrop with padding), `random_resized_crop`
 * (RandomResizedCrop back to image_size), `vflip` (RandomVerticalFlip) and `random_rotation`
 * (RandomRotation about the centre, same size). The contract of transforms.ts holds here: in place on
 * one S×S×3 HWC float image, the draws of torchvision's `get_params` (same count and order per
 * image: `rng.float()` for torch.empty(1).uniform_ and torch.rand(1), `rng.int(n)` for
 * torch.randint(0, n)), and a `draw` that makes them through the function `apply` draws with.
 *
 * Resampling follows torch's float32 CPU kernels where a rounding decides a pixel (which source
 * pixel `nearest` picks): F.resize's interpolate (bilinear with align_corners=False and no
 * antialias — a crop is only ever enlarged — or nearest), and F.rotate's affine grid + grid_sample
 * (align_corners=False, nearest rounding half to even) with its fill mask. That warp
 * (`inverseAffineMatrix`, `affineInto`) also makes auto-augment.ts's shears, translations and
 * rotations, on uint8 pixels: nearest, or bilinear in torch's float32 arithmetic bit for bit.
 */
import {registerTransform, type RandomSource} from '../registry/registry.js'
import {roundHalfEven} from './images.js'
import {flipRows, padIndex, perChannel, type PaddingMode} from './transform-helpers.js'

const f32 = Math.fround

/** Mirrors every column of the image at `off` top to bottom, in place (a vertical flip). */
function flipColumns(img: Float32Array, off: number, size: number): void {
  const row = size * 3
  for (let a = off, b = off + (size - 1) * row; a < b; a += row, b -= row) {
    for (let k = 0; k < row; k++) {
      const t = img[a + k]
      img[a + k] = img[b + k]
      img[b + k] = t
    }
  }
}

/** A fill in pixel values 0–255 (one, or one per channel) as [0, 1] floats. */
function fillRgb(fill: number | number[], what: string): [number, number, number] {
  return perChannel(fill, what).map((v) => v / 255) as [number, number, number]
}

/** The schema of a fill in pixel values 0–255 (one, or one per channel), default 0. */
export const fillSchema = (what: string) => ({
  oneOf: [{type: 'number', minimum: 0, maximum: 255}, {type: 'array', items: {type: 'number', minimum: 0, maximum: 255}, minItems: 3, maxItems: 3}],
  default: 0,
  description: `${what}, in pixel values 0–255 (one, or one per channel)`,
})

/** A scratch copy of the image at `off` (reused between calls). */
function scratchCopy() {
  let scratch = new Float32Array(0)
  return (img: Float32Array, off: number, n: number) => {
    if (scratch.length < n) scratch = new Float32Array(n)
    scratch.set(img.subarray(off, off + n))
    return scratch
  }
}

const flipSchema = () => ({type: 'object', additionalProperties: false, properties: {p: {type: 'number', minimum: 0, maximum: 1, default: 0.5, description: 'probability of a flip'}}})

/** A random flip: one draw per image (`torch.rand(1) < p`). */
function randomFlip(p: number, flip: (img: Float32Array, off: number, size: number) => void) {
  const flips = (rng: RandomSource) => rng.float() < p
  return {
    draw(_size: number, rng: RandomSource) {
      flips(rng)
    },
    apply(img: Float32Array, off: number, size: number, rng: RandomSource) {
      if (flips(rng)) flip(img, off, size)
    },
  }
}

registerTransform<{p: number}>({
  name: 'hflip',
  summary: 'RandomHorizontalFlip: mirror the image with probability p.',
  applies: 'train',
  schema: flipSchema(),
  create: ({p}) => randomFlip(p, flipRows),
})

interface CropParams {
  padding: number
  padding_mode: PaddingMode
  fill: number | number[]
}

registerTransform<CropParams>({
  name: 'random_crop',
  summary: 'RandomCrop(image_size, padding): pad every side, then cut an image_size square at a random place.',
  applies: 'train',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      padding: {type: 'integer', minimum: 0, default: 4, description: 'pixels added on every side before cropping'},
      padding_mode: {enum: ['constant', 'edge', 'reflect', 'symmetric'], default: 'constant', description: 'constant: fill; edge: repeat the border; reflect / symmetric: mirror without / with the border pixel'},
      fill: fillSchema('constant padding'),
    },
  },
  create: ({padding, padding_mode: mode, fill}) => {
    const fillValue = fillRgb(fill, 'random_crop.fill')
    const copy = scratchCopy()
    // RandomCrop.get_params: the top row, then the left column, of the crop in the padded image.
    const corner = (rng: RandomSource) => [rng.int(2 * padding + 1) - padding, rng.int(2 * padding + 1) - padding]
    return {
      draw(_size, rng) {
        corner(rng)
      },
      apply(img, off, size, rng) {
        const [top, left] = corner(rng)
        const scratch = copy(img, off, size * size * 3)
        for (let y = 0; y < size; y++) {
          let sy = y + top
          const rowOut = sy < 0 || sy >= size
          if (rowOut && mode !== 'constant') sy = padIndex(sy, size, mode)
          for (let x = 0; x < size; x++) {
            let sx = x + left
            const colOut = sx < 0 || sx >= size
            const d = off + (y * size + x) * 3
            if ((rowOut || colOut) && mode === 'constant') {
              img[d] = fillValue[0]
              img[d + 1] = fillValue[1]
              img[d + 2] = fillValue[2]
              continue
            }
            if (colOut) sx = padIndex(sx, size, mode)
            const s = (sy * size + sx) * 3
            img[d] = scratch[s]
            img[d + 1] = scratch[s + 1]
            img[d + 2] = scratch[s + 2]
          }
        }
      },
    }
  },
})

export type Interpolation = 'bilinear' | 'nearest'

/** For one axis resized from n to `out` pixels: each output index's two source indices and the second one's weight. */
interface Taps {
  i0: Int32Array
  i1: Int32Array
  w1: Float64Array
}

/**
 * torch's upsampling indices and weights (align_corners=False), in its float32 arithmetic:
 * nearest takes ⌊o·(n/out)⌋; bilinear reads at (n/out)·(o + ½) − ½ (negative → 0) between the
 * floor and the next pixel (the last pixel repeats at the far edge); n = out copies.
 */
function axisTaps(n: number, out: number, mode: Interpolation, t: Taps): void {
  const scale = f32(n / out)
  for (let o = 0; o < out; o++) {
    if (n === out) {
      t.i0[o] = t.i1[o] = o
      t.w1[o] = 0
    } else if (mode === 'nearest') {
      t.i0[o] = t.i1[o] = Math.min(Math.floor(f32(o * scale)), n - 1)
      t.w1[o] = 0
    } else {
      const src = Math.max(0, f32(f32(scale * (o + 0.5)) - 0.5))
      const i = Math.min(Math.floor(src), n - 1)
      t.i0[o] = i
      t.i1[o] = i < n - 1 ? i + 1 : i
      t.w1[o] = Math.min(Math.max(src - i, 0), 1)
    }
  }
}

interface ResizedCropParams {
  scale: [number, number]
  ratio: [number, number]
  interpolation: Interpolation
}

/** The crop RandomResizedCrop.get_params draws for a size×size image: its top row, left column, height and width. */
interface CropBox {
  top: number
  left: number
  h: number
  w: number
}

registerTransform<ResizedCropParams>({
  name: 'random_resized_crop',
  summary: 'RandomResizedCrop(image_size): cut a rectangle of random area and aspect ratio at a random place, resize it back to image_size.',
  applies: 'train',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      scale: {type: 'array', items: {type: 'number', minimum: 0, maximum: 1}, minItems: 2, maxItems: 2, default: [0.08, 1], description: "range of the crop's area, as a fraction of the image's"},
      ratio: {type: 'array', items: {type: 'number', exclusiveMinimum: 0}, minItems: 2, maxItems: 2, default: [3 / 4, 4 / 3], description: 'range of its aspect ratio width / height (drawn log-uniformly)'},
      interpolation: {enum: ['bilinear', 'nearest'], default: 'bilinear', description: 'how the crop is resized back (torch interpolate, align_corners false)'},
    },
  },
  create: ({scale, ratio, interpolation}) => {
    if (!(scale[0] <= scale[1]) || !(ratio[0] <= ratio[1])) throw new RangeError('random_resized_crop.scale and ratio must be [min, max] with min ≤ max')
    const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])]
    // RandomResizedCrop.get_params: up to 10 tries of (area, aspect) until the rectangle fits, then its place; else the central crop.
    const box = (size: number, rng: RandomSource): CropBox => {
      const area = size * size
      for (let attempt = 0; attempt < 10; attempt++) {
        const target = area * (scale[0] + (scale[1] - scale[0]) * rng.float())
        const aspect = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * rng.float())
        const w = roundHalfEven(Math.sqrt(target * aspect))
        const h = roundHalfEven(Math.sqrt(target / aspect))
        if (0 < w && w <= size && 0 < h && h <= size) return {top: rng.int(size - h + 1), left: rng.int(size - w + 1), h, w}
      }
      // A square image's aspect ratio is 1.
      let w = size
      let h = size
      if (1 < ratio[0]) h = roundHalfEven(w / ratio[0])
      else if (1 > ratio[1]) w = roundHalfEven(h * ratio[1])
      return {top: Math.floor((size - h) / 2), left: Math.floor((size - w) / 2), h, w}
    }
    const copy = scratchCopy()
    const taps = () => ({i0: new Int32Array(0), i1: new Int32Array(0), w1: new Float64Array(0)})
    const rows = taps()
    const cols = taps()
    const sized = (t: Taps, size: number) => {
      if (t.i0.length !== size) Object.assign(t, {i0: new Int32Array(size), i1: new Int32Array(size), w1: new Float64Array(size)})
      return t
    }
    return {
      draw(size, rng) {
        box(size, rng)
      },
      apply(img, off, size, rng) {
        const {top, left, h, w} = box(size, rng)
        if (h === size && w === size) return
        const src = copy(img, off, size * size * 3)
        axisTaps(h, size, interpolation, sized(rows, size))
        axisTaps(w, size, interpolation, sized(cols, size))
        for (let y = 0; y < size; y++) {
          const r0 = ((top + rows.i0[y]) * size + left) * 3
          const r1 = ((top + rows.i1[y]) * size + left) * 3
          const wy = rows.w1[y]
          for (let x = 0; x < size; x++) {
            const c0 = cols.i0[x] * 3
            const c1 = cols.i1[x] * 3
            const wx = cols.w1[x]
            const d = off + (y * size + x) * 3
            for (let c = 0; c < 3; c++) {
              const a = (1 - wx) * src[r0 + c0 + c] + wx * src[r0 + c1 + c]
              const b = (1 - wx) * src[r1 + c0 + c] + wx * src[r1 + c1 + c]
              img[d + c] = (1 - wy) * a + wy * b
            }
          }
        }
      },
    }
  },
})

registerTransform<{p: number}>({
  name: 'vflip',
  summary: 'RandomVerticalFlip: turn the image upside down (mirror top to bottom) with probability p.',
  applies: 'train',
  schema: flipSchema(),
  create: ({p}) => randomFlip(p, flipColumns),
})

/**
 * torchvision's `_get_inverse_affine_matrix` (functional.py), in its double arithmetic: the 2×3
 * matrix that takes an output pixel back to where it is read, for a rotation by `angle` degrees,
 * a translation, a scale and shears (degrees) about `center` — in pixels from the image centre,
 * as F.affine and F.rotate hand it to the tensor implementation.
 */
export function inverseAffineMatrix(center: [number, number], angle: number, translate: [number, number], scale: number, shear: [number, number]): number[] {
  const radians = Math.PI / 180
  const rot = angle * radians
  const sx = shear[0] * radians
  const sy = shear[1] * radians
  const [cx, cy] = center
  const [tx, ty] = translate
  // Rotation, scale and shear without the scale.
  const a = Math.cos(rot - sy) / Math.cos(sy)
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot)
  const c = Math.sin(rot - sy) / Math.cos(sy)
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot)
  // Its inverse (determinant 1), then the translation and the centre taken back, then the centre.
  const m = [d, -b, 0, -c, a, 0].map((v) => v / scale)
  m[2] += m[0] * (-cx - tx) + m[1] * (-cy - ty)
  m[5] += m[3] * (-cx - tx) + m[4] * (-cy - ty)
  m[2] += cx
  m[5] += cy
  return m
}

/** What a warp reads and writes: [0, 1] floats, or uint8 pixels (as torchvision's uint8 tensors: see `affineInto`). */
type WarpPixels = Float32Array | Uint8Array

/**
 * fma(a, b, c) in float32: a·b + c rounded once, as the FMA instruction the compiler makes of torch's
 * vectorised grid_sample computes it. a·b is exact in a double (24 + 24 bits); the sum is rounded to
 * a double, then to float32, and where that double is exactly halfway between two floats while the
 * exact sum is not (its error, from TwoSum, is not 0), the float on the error's side is taken.
 */
export function fmaf(a: number, b: number, c: number): number {
  const p = a * b
  const s = p + c
  const r = f32(s)
  if (r === s) return r
  // The other float s would be halfway to: a float only where s is halfway (and then exact).
  const other = r + 2 * (s - r)
  if (other === r || f32(other) !== other) return r
  const bv = s - p
  const err = p - (s - bv) + (c - bv)
  if (err === 0) return r
  return err > 0 === other > r ? other : r
}

/**
 * One uint8 pixel of torchvision's bilinear warp of a uint8 tensor (F.affine / F.rotate with
 * BILINEAR → _apply_grid_transform): the image cast to float32 with the mask channel of ones
 * appended (the fill is always given here), grid_sample bilinear as torch 1.13's vectorised CPU
 * kernel (AVX2, AVX-512) computes it, the fill blended with the mask, rounded half to even back to uint8. The kernel's
 * float32 arithmetic, in its order and with the multiply-adds the compiler fuses: the source place
 * (g + 1)·size/2 − ½ in one rounding; the distances to the west and north neighbours and their
 * complements; the four weights (south·east, south·west, north·east, north·west distances: nw, ne,
 * sw, se); per channel nw·v_nw, then + ne·v_ne, + sw·v_sw, + se·v_se each fused (a neighbour outside
 * reads 0 and adds nothing); then img·mask + (1 − mask)·fill, three float32 operations (torch's
 * separate kernels).
 */
function bilinearByte(img: Uint8Array, d: number, src: Uint8Array, size: number, gx: number, gy: number, half: number, fill: [number, number, number]): void {
  // f32(g + 1) is a multiple of 2^-24 and half one of ½, well inside 53 bits: the double is the exact fused value.
  const ix = f32(f32(gx + 1) * half - 0.5)
  const iy = f32(f32(gy + 1) * half - 0.5)
  const x0 = Math.floor(ix)
  const y0 = Math.floor(iy)
  const w = f32(ix - x0)
  const e = f32(1 - w)
  const n = f32(iy - y0)
  const s = f32(1 - n)
  const nw = f32(s * e)
  const ne = f32(s * w)
  const sw = f32(n * e)
  const se = f32(n * w)
  let mask = 0
  let r = 0
  let g = 0
  let b = 0
  for (let k = 0; k < 4; k++) {
    const cx = x0 + (k & 1)
    const cy = y0 + (k >> 1)
    if (cx < 0 || cx >= size || cy < 0 || cy >= size) continue
    const weight = k === 0 ? nw : k === 1 ? ne : k === 2 ? sw : se
    const i = (cy * size + cx) * 3
    // The north-west neighbour's product alone; each other one fused into the sum (the mask channel's values are 1).
    mask = k === 0 ? weight : f32(mask + weight)
    r = k === 0 ? f32(src[i] * weight) : fmaf(src[i], weight, r)
    g = k === 0 ? f32(src[i + 1] * weight) : fmaf(src[i + 1], weight, g)
    b = k === 0 ? f32(src[i + 2] * weight) : fmaf(src[i + 2], weight, b)
  }
  const away = f32(1 - mask)
  img[d] = blendByte(r, mask, away, fill[0])
  img[d + 1] = blendByte(g, mask, away, fill[1])
  img[d + 2] = blendByte(b, mask, away, fill[2])
}

/** torchvision's fill blend img·mask + (1 − mask)·fill in float32, rounded half to even to a byte. */
function blendByte(v: number, mask: number, away: number, fill: number): number {
  const out = roundHalfEven(f32(f32(v * mask) + f32(away * fill)))
  return out <= 0 ? 0 : out >= 255 ? 255 : out
}

/**
 * F.affine / F.rotate on a tensor (same size): each output pixel's centre goes through the inverse
 * `matrix` (float32 theta, torchvision's affine grid: the grid's x, y, 1 times theta over the half
 * size, summed in that order as torch's bmm does), then grid_sample (align_corners=False, zeros
 * outside) reads `src` there, and the fill replaces what the warp brought in from outside: nearest,
 * where the pixel's source is outside; bilinear, blended by the share of the four neighbours that
 * are inside (torchvision's mask channel).
 *
 * On [0, 1] floats (random_rotation) the bilinear sum is taken in doubles (within 2e-6 of torch's
 * float32). On uint8 pixels (auto-augment.ts) nearest copies pixels and `fill` is the fill's bytes;
 * bilinear is torch's float32 arithmetic on the uint8 tensor bit for bit (`bilinearByte`), and
 * `fill` is the fill in pixel values as float32, not rounded (torchvision blends the float fill).
 */
export function affineInto(img: WarpPixels, off: number, src: WarpPixels, size: number, matrix: number[], mode: Interpolation, fill: [number, number, number]): void {
  const half = 0.5 * size
  // theta over the half size: the grid's x and y per output x, y and 1.
  const [xx, xy, x1, yx, yy, y1] = matrix.map((v) => f32(f32(v) / half))
  const max = size - 1
  const inside = (x: number, y: number) => x >= 0 && x <= max && y >= 0 && y <= max
  // uint8 pixels read bilinearly: torch's float32 arithmetic on the uint8 tensor.
  const bytes = mode === 'bilinear' && img instanceof Uint8Array
  if (bytes !== (mode === 'bilinear' && src instanceof Uint8Array)) throw new TypeError('affineInto reads and writes pixels of one kind')
  for (let oy = 0; oy < size; oy++) {
    const y = oy - max / 2
    for (let ox = 0; ox < size; ox++) {
      const x = ox - max / 2
      const gx = f32(f32(f32(x * xx) + f32(y * xy)) + x1)
      const gy = f32(f32(f32(x * yx) + f32(y * yy)) + y1)
      // grid_sample's unnormalize: (g + 1)·size/2 − ½.
      const ix = f32(f32(f32(gx + 1) * half) - 0.5)
      const iy = f32(f32(f32(gy + 1) * half) - 0.5)
      const d = off + (oy * size + ox) * 3
      if (bytes) {
        bilinearByte(img as Uint8Array, d, src as Uint8Array, size, gx, gy, half, fill)
        continue
      }
      if (mode === 'nearest') {
        const nx = roundHalfEven(ix)
        const ny = roundHalfEven(iy)
        if (inside(nx, ny)) {
          const s = (ny * size + nx) * 3
          img[d] = src[s]
          img[d + 1] = src[s + 1]
          img[d + 2] = src[s + 2]
        } else {
          img[d] = fill[0]
          img[d + 1] = fill[1]
          img[d + 2] = fill[2]
        }
        continue
      }
      const x0 = Math.floor(ix)
      const y0 = Math.floor(iy)
      const dx = f32(ix - x0)
      const dy = f32(iy - y0)
      // The four neighbours (north-west, north-east, south-west, south-east), each with its weight; outside reads 0.
      let mask = 0
      let r = 0
      let g = 0
      let b = 0
      for (let k = 0; k < 4; k++) {
        const cx = x0 + (k & 1)
        const cy = y0 + (k >> 1)
        if (!inside(cx, cy)) continue
        const weight = f32(f32(k >> 1 ? dy : 1 - dy) * f32(k & 1 ? dx : 1 - dx))
        const s = (cy * size + cx) * 3
        mask += weight
        r += weight * src[s]
        g += weight * src[s + 1]
        b += weight * src[s + 2]
      }
      img[d] = r * mask + (1 - mask) * fill[0]
      img[d + 1] = g * mask + (1 - mask) * fill[1]
      img[d + 2] = b * mask + (1 - mask) * fill[2]
    }
  }
}

/** F.rotate on a tensor (expand=False, centre of the image): counter-clockwise by `angle` degrees. */
function rotateInto(img: Float32Array, off: number, src: Float32Array, size: number, angle: number, mode: Interpolation, fill: [number, number, number]): void {
  // F.rotate hands the affine matrix the opposite angle (torchvision's rotate and affine turn opposite ways).
  affineInto(img, off, src, size, inverseAffineMatrix([0, 0], -angle, [0, 0], 1, [0, 0]), mode, fill)
}

interface RotationParams {
  degrees: number | [number, number]
  interpolation: Interpolation
  fill: number | number[]
}

registerTransform<RotationParams>({
  name: 'random_rotation',
  summary: 'RandomRotation: rotate about the centre by a random angle, keeping the size; corners brought in get the fill.',
  applies: 'train',
  tiny: {degrees: 30},
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['degrees'],
    properties: {
      degrees: {
        oneOf: [{type: 'number', minimum: 0}, {type: 'array', items: {type: 'number'}, minItems: 2, maxItems: 2}],
        description: 'd: angle drawn from [-d, d] degrees (or [min, max]), counter-clockwise',
      },
      interpolation: {enum: ['nearest', 'bilinear'], default: 'nearest', description: 'how pixels are read at the rotated places (grid_sample)'},
      fill: fillSchema('what the corners brought in from outside the image get'),
    },
  },
  create: ({degrees, interpolation, fill}) => {
    const [lo, hi] = Array.isArray(degrees) ? degrees : [-degrees, degrees]
    if (!(lo <= hi)) throw new RangeError(`random_rotation.degrees must be a number ≥ 0 or [min, max] with min ≤ max; got [${lo}, ${hi}]`)
    const fillValue = fillRgb(fill, 'random_rotation.fill')
    const copy = scratchCopy()
    // RandomRotation.get_params: one uniform draw.
    const angle = (rng: RandomSource) => lo + (hi - lo) * rng.float()
    return {
      draw(_size, rng) {
        angle(rng)
      },
      apply(img, off, size, rng) {
        const a = angle(rng)
        rotateInto(img, off, copy(img, off, size * size * 3), size, a, interpolation, fillValue)
      },
    }
  },
})
