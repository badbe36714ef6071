/** Weightless Perceiver pieces: Fourier position features and the GEGLU gate. */
import {tf, tfl} from '../engine/tf.js'
import {keepConstant} from '../engine/constants.js'
import {geglu} from '../ops/geglu.js'

/**
 * perceiver-pytorch 0.7 `fourier_encode` of a linspace(−1, 1) grid per axis: for each axis
 * [sin(π·x·s_1..k), cos(π·x·s_1..k), x] with s = linspace(1, max_freq/2, k). Returns the
 * (H·W, axes·(2k+1)) table in row-major (h, w) token order, axis 0 (rows) first.
 */
export function fourierTable(height: number, width: number, numBands: number, maxFreq: number): Float32Array {
  const perAxis = 2 * numBands + 1
  const channels = 2 * perAxis
  const out = new Float32Array(height * width * channels)
  const lin = (n: number, i: number) => (n === 1 ? -1 : -1 + (2 * i) / (n - 1))
  const scales = Array.from({length: numBands}, (_, i) => (numBands === 1 ? 1 : 1 + ((maxFreq / 2 - 1) * i) / (numBands - 1)))
  for (let h = 0; h < height; h++) {
    for (let w = 0; w < width; w++) {
      const base = (h * width + w) * channels
      const coords = [lin(height, h), lin(width, w)]
      coords.forEach((x, axis) => {
        const o = base + axis * perAxis
        scales.forEach((s, j) => {
          const angle = Math.fround(Math.fround(x * s) * Math.PI)
          out[o + j] = Math.sin(angle)
          out[o + numBands + j] = Math.cos(angle)
        })
        out[o + 2 * numBands] = x
      })
    }
  }
  return out
}

export interface FourierArgs {
  name?: string
  numBands: number
  maxFreq: number
}

/** (B, H, W, C) image → (B, H·W, C + 2·(2k+1)) tokens: data channels first, then the position features. */
export class FourierFeatures extends tfl.layers.Layer {
  static className = 'MixtureFourierFeatures'
  readonly numBands: number
  readonly maxFreq: number
  private table?: tf.Tensor

  constructor(args: FourierArgs) {
    super({name: args.name})
    this.numBands = args.numBands
    this.maxFreq = args.maxFreq
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs
      const [b, h, w, c] = x.shape
      const features = 2 * (2 * this.numBands + 1)
      if (!this.table || this.table.shape[1] !== h * w || this.table.isDisposed) {
        this.table?.dispose()
        this.table = keepConstant(tf.tensor(fourierTable(h, w, this.numBands, this.maxFreq), [1, h * w, features]))
      }
      const pos = tf.tile(this.table, [b, 1, 1])
      return tf.concat([tf.reshape(x, [b, h * w, c]), pos], -1)
    })
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape
    return [s[0], (s[1] as number) * (s[2] as number), (s[3] as number) + 2 * (2 * this.numBands + 1)]
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), numBands: this.numBands, maxFreq: this.maxFreq}
  }
}
tf.serialization.registerClass(FourierFeatures)

/** GEGLU: split the last axis in halves (x, gates) → x · GELU(gates), exact (erf) GELU. */
export class Geglu extends tfl.layers.Layer {
  static className = 'MixtureGeglu'

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => geglu(Array.isArray(inputs) ? inputs[0] : inputs))
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = [...((Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape)]
    s[s.length - 1] = (s[s.length - 1] as number) / 2
    return s
  }
}
tf.serialization.registerClass(Geglu)
