/**
 * Token-to-image adapter of the ViT mixture blocks: (B, N, D) tokens are read as an (N, √D, √D)
 * image — tokens become channels, each D-vector a √D×√D map — then ConvTranspose2d(N → 3, k, stride 1,
 * 'same') and BatchNorm(3). For the paper's 256 tokens of 1024 this is 6,921 parameters.
 */
import {registerAdapter, Type, withDefault} from '../src/api.js'
import type {BuildContext, Resolved, SymbolicTensor} from '../src/api.js'

/** (B, N, D) → (B, √D, √D, N): token n becomes channel n, its D values a row-major √D×√D map (NCHW view, stored NHWC). */
export function tokensAsImage(ctx: BuildContext, tokens: SymbolicTensor, side: number): SymbolicTensor {
  const {tfl} = ctx
  const n = tokens.shape[1] as number
  const x = tfl.layers.reshape({name: ctx.name('tokens_as_channels'), targetShape: [n, side, side]}).apply(tokens) as SymbolicTensor
  return tfl.layers.permute({name: ctx.name('to_nhwc'), dims: [2, 3, 1]}).apply(x) as SymbolicTensor
}

const schema = Type.Object(
  {
    kernel_size: withDefault(Type.Integer({minimum: 1, maximum: 31}), 3),
    out_channels: withDefault(Type.Integer({minimum: 1, maximum: 16384}), 3),
    batch_norm: withDefault(Type.Boolean(), true),
  },
  {additionalProperties: false},
)

export type TokenImageParams = Resolved<typeof schema>

registerAdapter<TokenImageParams>({
  name: 'token_image',
  summary: 'Tokens (B, N, D) read as an N-channel √D×√D image → ConvTranspose2d(N→3) → BatchNorm.',
  schema,
  tiny: {},
  create: (ctx, tokens, p, image) => {
    const [, , d] = tokens.shape as number[]
    const side = Math.round(Math.sqrt(d))
    if (side * side !== d) throw new Error(`token_image: token width ${d} is not a perfect square, so tokens cannot be read as an image; use a dim such as ${image.height * image.width}`)
    if (side !== image.height || side !== image.width) {
      throw new Error(`token_image: tokens of width ${d} make a ${side}×${side} image but the block works on ${image.height}×${image.width}; set the transformer dim to ${image.height * image.width}`)
    }
    if (p.kernel_size % 2 !== 1) throw new Error(`token_image: kernel_size must be odd to keep the image size (got ${p.kernel_size})`)
    let x = tokensAsImage(ctx, tokens, side)
    x = ctx.conv2dTransposeSame(x, 'conv_transpose', p.out_channels, p.kernel_size)
    return p.batch_norm ? ctx.apply(ctx.batchNorm('bn'), x) : x
  },
})
