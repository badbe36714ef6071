/** Heads: the paper's "FFN", one Linear on the flattened (B, C, H, W) image. */
import {registerHead, Type, type BuildContext, type SymbolicTensor} from '../src/api.js'

/** Flatten in PyTorch's (C, H, W) order, then Linear(C·H·W, classes), so weights line up with the original. */
export function linearHead(ctx: BuildContext, image: SymbolicTensor, numClasses: number): SymbolicTensor {
  const {tfl} = ctx
  const [, h, w, c] = image.shape as number[]
  const chw = tfl.layers.permute({name: ctx.name('to_nchw'), dims: [3, 1, 2]}).apply(image) as SymbolicTensor
  const flat = tfl.layers.flatten({name: ctx.name('flatten')}).apply(chw) as SymbolicTensor
  return ctx.apply(ctx.dense('fc', c * h * w, numClasses), flat)
}

registerHead({
  name: 'linear',
  summary: 'Linear(C·H·W, classes) on the flattened last block output (the paper\'s "FFN").',
  schema: Type.Object({}, {additionalProperties: false}),
  create: (ctx, image, _p, numClasses) => linearHead(ctx, image, numClasses),
})
