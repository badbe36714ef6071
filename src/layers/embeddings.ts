/**
 * The token-side leaf layers: the ViT CLS token + positional embedding and the Perceiver latent
 * array, which own their weights through `addWeight` (N(0, 1) at init, like `torch.randn`), and
 * the weightless CLS pooling that reads the CLS token back out.
 */
import {tf, tfl} from '../engine/tf.js'

type Initializer = ReturnType<typeof tfl.initializers.randomNormal>
type LayerVariable = ReturnType<tfl.layers.Layer['addWeight']>

export interface ClsPosArgs {
  name?: string
  numTokens: number
  dim: number
  /** Law of `pos_embedding`. */
  initializer?: Initializer
  /** Law of `cls_token`: a separate, independently seeded draw (the same seeded initializer twice would repeat pos[0]). */
  clsInitializer?: Initializer
}

/** (B, n, d) → concat(cls, x) + pos[:, :n+1]: (B, n+1, d). Weights `cls_token` (1,1,d), `pos_embedding` (1,n+1,d). */
export class ClsPosEmbedding extends tfl.layers.Layer {
  static className = 'MixtureClsPosEmbedding'
  readonly numTokens: number
  readonly dim: number
  private readonly init?: Initializer
  private readonly clsInit?: Initializer
  private cls?: LayerVariable
  private pos?: LayerVariable

  constructor(args: ClsPosArgs) {
    super({name: args.name})
    this.numTokens = args.numTokens
    this.dim = args.dim
    this.init = args.initializer
    this.clsInit = args.clsInitializer
  }

  build(): void {
    const normal = () => tfl.initializers.randomNormal({mean: 0, stddev: 1})
    this.pos = this.addWeight('pos_embedding', [1, this.numTokens + 1, this.dim], 'float32', this.init ?? normal())
    this.cls = this.addWeight('cls_token', [1, 1, this.dim], 'float32', this.clsInit ?? normal())
    this.built = true
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs
      const [b, n] = x.shape
      const cls = tf.tile(this.cls!.read(), [b, 1, 1])
      const pos = n + 1 === this.numTokens + 1 ? this.pos!.read() : tf.slice(this.pos!.read(), [0, 0, 0], [1, n + 1, this.dim])
      return tf.add(tf.concat([cls, x], 1), pos)
    })
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape
    return [s[0], s[1] === null ? null : (s[1] as number) + 1, this.dim]
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), numTokens: this.numTokens, dim: this.dim}
  }
}
tf.serialization.registerClass(ClsPosEmbedding)

export interface LatentArgs {
  name?: string
  numLatents: number
  dim: number
  initializer?: Initializer
}

/** Ignores its input except for the batch size; returns the learned latents tiled to (B, n, d). */
export class LatentArray extends tfl.layers.Layer {
  static className = 'MixtureLatentArray'
  readonly numLatents: number
  readonly dim: number
  private readonly init?: Initializer
  private latents?: LayerVariable

  constructor(args: LatentArgs) {
    super({name: args.name})
    this.numLatents = args.numLatents
    this.dim = args.dim
    this.init = args.initializer
  }

  build(): void {
    this.latents = this.addWeight('latents', [this.numLatents, this.dim], 'float32', this.init ?? tfl.initializers.randomNormal({mean: 0, stddev: 1}))
    this.built = true
  }

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs
      return tf.tile(tf.expandDims(this.latents!.read(), 0), [x.shape[0], 1, 1])
    })
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape
    return [s[0], this.numLatents, this.dim]
  }

  getConfig(): tf.serialization.ConfigDict {
    return {...super.getConfig(), numLatents: this.numLatents, dim: this.dim}
  }
}
tf.serialization.registerClass(LatentArray)

/** x[:, 0]: the CLS token of (B, n, d) → (B, d). */
export class ClsPool extends tfl.layers.Layer {
  static className = 'MixtureClsPool'

  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs
    const [b, , d] = x.shape
    return tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, d]), [b, d])
  }

  computeOutputShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape
    return [s[0], s[2]]
  }
}
tf.serialization.registerClass(ClsPool)
