/**
 * The `mixture` model: `num_blocks` blocks of one combinator (alternating or joint) over a list of
 * components, then a head. Tokens from a component are turned back into an image by the adapter.
 */
import {lookup, registerModel, RegistryError, type BlockParts} from '../registry/registry.js'
import type {BuildContext} from '../registry/context.js'
import type {SymbolicTensor} from '../engine/tf.js'

/** A resolved part: `type`, optional `preset` name, and its parameters (all filled by validation). */
export type PartSpec = {type: string; preset?: string} & Record<string, unknown>

/** The parameters of a part, without `type` and `preset`. */
export function paramsOf(part: PartSpec): Record<string, unknown> {
  const {type: _t, preset: _p, ...params} = part
  return params
}

export interface MixtureParams {
  block: string
  num_blocks: number
  components: PartSpec[]
  adapter: PartSpec
  norm: PartSpec
  head: PartSpec
}

function resolveOutput(entry: {output: 'image' | 'tokens' | ((p: never) => 'image' | 'tokens')}, params: Record<string, unknown>) {
  return typeof entry.output === 'function' ? entry.output(params as never) : entry.output
}

function component(ctx: BuildContext, p: MixtureParams, i: number, x: SymbolicTensor, names: string[]): SymbolicTensor {
  const part = p.components[i]
  const entry = lookup('component', part.type)
  if (!entry) throw new RegistryError(`unknown component "${part.type}"`)
  const scope = ctx.scope(names[i])
  const params = paramsOf(part)
  const out = entry.create(scope, x, params)
  if (resolveOutput(entry, params) === 'image') return out
  const adapter = lookup('adapter', p.adapter.type)
  if (!adapter) throw new RegistryError(`unknown adapter "${p.adapter.type}"`)
  const [, height, width] = x.shape as number[]
  return adapter.create(ctx.scope(`${names[i]}_adapter`), out, paramsOf(p.adapter), {height, width})
}

/** Scope names inside a block: the component type, numbered when a type repeats (`cnn`, `cnn2`). */
function componentNames(parts: PartSpec[]): string[] {
  const seen = new Map<string, number>()
  return parts.map((c) => {
    const n = (seen.get(c.type) ?? 0) + 1
    seen.set(c.type, n)
    return n === 1 ? c.type : `${c.type}${n}`
  })
}

export function buildMixture(ctx: BuildContext, input: SymbolicTensor, p: MixtureParams, numClasses: number): SymbolicTensor {
  const block = lookup('block', p.block)
  if (!block) throw new RegistryError(`unknown block "${p.block}"`)
  const norm = lookup('norm', p.norm.type)
  if (!norm) throw new RegistryError(`unknown norm "${p.norm.type}"`)
  const head = lookup('head', p.head.type)
  if (!head) throw new RegistryError(`unknown head "${p.head.type}"`)
  const names = componentNames(p.components)
  const share = (p.norm.share as string | undefined) ?? 'model'
  let x = input
  for (let b = 0; b < p.num_blocks; b++) {
    const bctx = ctx.scope(`block${b + 1}`)
    const parts: BlockParts = {
      components: p.components,
      component: (i, inp) => component(bctx, p, i, inp, names),
      norm: (image, branch) => {
        const scope = share === 'model' ? ctx.scope('norm') : share === 'block' ? bctx.scope('norm') : bctx.scope(`norm_${names[branch]}`)
        return norm.create(scope, image, paramsOf(p.norm))
      },
    }
    x = block.create(bctx, x, {}, parts)
  }
  return head.create(ctx.scope('head'), x, paramsOf(p.head), numClasses)
}

const part = {
  type: 'object',
  required: ['type'],
  properties: {type: {type: 'string'}, preset: {type: 'string'}},
  additionalProperties: true,
}

registerModel<MixtureParams>({
  name: 'mixture',
  summary: 'Mixture model: num_blocks alternating or joint blocks over a list of components, then a head.',
  paper: 'Maddela & Trowbridge, Mixture Models',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['components'],
    properties: {
      block: {type: 'string', default: 'alternating', description: 'block combinator: alternating or joint (or a plugin\'s)'},
      num_blocks: {type: 'integer', minimum: 1, maximum: 1000, default: 1},
      components: {type: 'array', minItems: 1, items: part},
      adapter: {...part, default: {type: 'token_image'}},
      norm: {...part, default: {type: 'none'}},
      head: {...part, default: {type: 'linear'}},
    },
  },
  tiny: {components: [{type: 'cnn', channels: [4, 3]}], block: 'joint', norm: {type: 'batchnorm'}} as never,
  create: buildMixture,
})
