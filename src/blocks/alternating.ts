/** Alternating block: the components in sequence (CNN → transformer → back to an image → …). */
import {registerBlock} from '../registry/registry.js'

registerBlock<Record<string, never>>({
  name: 'alternating',
  summary: 'Components chained: each one\'s image (tokens go through the adapter) feeds the next.',
  paper: 'Maddela & Trowbridge, Mixture Models, Fig. 1 (top)',
  schema: {type: 'object', additionalProperties: false, properties: {}},
  create: (_ctx, input, _p, parts) => parts.components.reduce((x, _c, i) => parts.component(i, x), input),
})
