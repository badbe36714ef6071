/** Alternating block: the components in sequence (CNN → transformer → back to an image → …). */
import {Type} from '@sinclair/typebox'
import {registerBlock} from '../registry/registry.js'

registerBlock({
  name: 'alternating',
  summary: 'Components chained: each one\'s image (tokens go through the adapter) feeds the next.',
  paper: 'Maddela & Trowbridge, Mixture Models, Fig. 1 (top)',
  schema: Type.Object({}, {additionalProperties: false}),
  create: (_ctx, input, _p, parts) => parts.components.reduce((x, _c, i) => parts.component(i, x), input),
})
