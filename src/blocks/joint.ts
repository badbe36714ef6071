/** Joint block: every component on the same input, each output normalised (per the block's norm), then summed. */
import {Type} from '@sinclair/typebox'
import {registerBlock} from '../registry/registry.js'
import type {SymbolicTensor} from '../engine/tf.js'

registerBlock({
  name: 'joint',
  summary: 'Components in parallel on the same input; outputs normalised (none, shared BatchNorm, LayerNorm) and added.',
  paper: 'Maddela & Trowbridge, Mixture Models, Fig. 1 (bottom)',
  schema: Type.Object({}, {additionalProperties: false}),
  create: (ctx, input, _p, parts) => {
    const branches = parts.components.map((_c, i) => parts.norm(parts.component(i, input), i))
    if (branches.length === 1) return branches[0]
    const shapes = branches.map((b) => b.shape.slice(1).join('×'))
    if (new Set(shapes).size > 1) {
      const each = parts.components.map((c, i) => `components[${i}] (${c.type}) gives ${shapes[i]}`).join(', ')
      throw new Error(`joint block: the components' outputs are added, so they must have one shape; ${each}`)
    }
    // tfjs-layers runs the inputs of a node last-first; listing them reversed runs the branches in
    // spec order, so a shared BatchNorm updates its running statistics in the original's order.
    return ctx.tfl.layers.add({name: ctx.name('sum')}).apply([...branches].reverse()) as SymbolicTensor
  },
})
