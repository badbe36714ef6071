/**
 * Normalisation of each branch of a joint block before the add. The paper's text says the joint
 * outputs were normalised; the released ViT code added them raw (`none`), and the Perceiver joint
 * model used ONE BatchNorm(3) for every branch of every block (`batchnorm` with `share: model`).
 */
import {enumOf, registerNorm, Type, withDefault, type Resolved, type SymbolicTensor} from '../src/api.js'

const schema = Type.Object(
  {share: withDefault(enumOf(['model', 'block', 'branch'], {description: 'which joint branches share one normalisation layer'}), 'model')},
  {additionalProperties: false},
)

/** `share`: which branches use one instance: all in the model, those of one block, or one per branch. */
export type NormParams = Resolved<typeof schema>

registerNorm({
  name: 'none',
  summary: 'No normalisation: joint branches are added as they are (the released ViT joint model).',
  schema: Type.Object({}, {additionalProperties: false}),
  create: (_ctx, image) => image,
})

registerNorm<NormParams>({
  name: 'batchnorm',
  summary: 'BatchNorm over channels, one instance per model, block or branch (the Perceiver joint model: one for all).',
  schema,
  create: (ctx, image, p) => {
    const layer = ctx.shared(`norm:${ctx.path}`, () => ctx.batchNorm('bn'))
    return ctx.apply(layer, image)
  },
})

registerNorm<NormParams>({
  name: 'layernorm',
  summary: 'LayerNorm over each branch image (C, H, W), one instance per model, block or branch.',
  schema,
  create: (ctx, image) => {
    const layer = ctx.shared(`norm:${ctx.path}`, () => ctx.layerNorm('ln', 3))
    return ctx.apply(layer, image) as SymbolicTensor
  },
})
