/**
 * The `mixture` model: `num_blocks` blocks of one combinator (alternating or joint) over a list of
 * components, then a head. Tokens from a component are turned back into an image by the adapter.
 */
import {Type} from '@sinclair/typebox'
import {lookup, registerModel, RegistryError, type BlockParts, type ComponentDef, type Flow} from '../registry/registry.js'
import {openObject, withDefault, type Resolved} from '../schema/typebox.js'
import type {BuildContext} from '../registry/context.js'
import type {SymbolicTensor} from '../engine/tf.js'
import {UsageError} from '../errors.js'

/** A resolved part: `type`, optional `preset` name, and its parameters (all filled by validation). */
const part = openObject({type: Type.String(), preset: Type.Optional(Type.String())})

export type PartSpec = Resolved<typeof part>

/** The parameters of a part, without `type` and `preset`. */
export function paramsOf(part: PartSpec): Record<string, unknown> {
  const {type: _t, preset: _p, ...params} = part
  return params
}

const schema = Type.Object(
  {
    block: withDefault(Type.String({description: "block combinator: alternating or joint (or a plugin's)"}), 'alternating'),
    num_blocks: withDefault(Type.Integer({minimum: 1, maximum: 1000}), 1),
    components: Type.Array(part, {minItems: 1}),
    adapter: withDefault(part, {type: 'token_image'}),
    norm: withDefault(part, {type: 'none'}),
    head: withDefault(part, {type: 'linear'}),
  },
  {additionalProperties: false},
)

export type MixtureParams = Resolved<typeof schema>

function resolveOutput(entry: ComponentDef, params: Record<string, unknown>): Flow {
  return typeof entry.output === 'function' ? entry.output(params) : entry.output
}

function component(ctx: BuildContext, p: MixtureParams, i: number, x: SymbolicTensor, names: string[]): SymbolicTensor {
  const part = p.components[i]
  const entry = lookup('component', part.type)
  if (!entry) throw new RegistryError(`unknown component "${part.type}"`)
  const scope = ctx.scope(names[i])
  const params = paramsOf(part)
  const out = at(`model.components[${i}]`, `model.components[${i}]`, () => entry.create(scope, x, params))
  if (resolveOutput(entry, params) === 'image') return out
  const adapter = lookup('adapter', p.adapter.type)
  if (!adapter) throw new RegistryError(`unknown adapter "${p.adapter.type}"`)
  const [, height, width] = x.shape as number[]
  return at(`model.adapter after model.components[${i}]`, 'model.adapter', () => adapter.create(ctx.scope(`${names[i]}_adapter`), out, paramsOf(p.adapter), {height, width}))
}

/**
 * `build()`, with a builder's complaint (a plugin's Error, tfjs's) saying where in the spec it arose
 * (`where`, and as `specPath` the key whose line a spec error names); the project's own errors say it already.
 */
function at<T>(where: string, path: string, build: () => T): T {
  try {
    return build()
  } catch (error) {
    if (error instanceof Error && !(error instanceof UsageError || error instanceof RegistryError)) error.message = `${error.message} (at ${where})`
    if (error instanceof Error) (error as {specPath?: string}).specPath ??= path
    throw error
  }
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
  const before = ctx.weightBytes()
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
    // Every block is built alike: the first one's size tells whether num_blocks of them fit.
    if (b === 0 && p.num_blocks > 1) {
      try {
        ctx.checkRepeats(ctx.weightBytes() - before, p.num_blocks - 1, `block 1 of ${p.num_blocks}`)
      } catch (error) {
        throw Object.assign(error as Error, {specPath: 'model.num_blocks'})
      }
    }
  }
  return head.create(ctx.scope('head'), x, paramsOf(p.head), numClasses)
}

registerModel<MixtureParams>({
  name: 'mixture',
  summary: 'Mixture model: num_blocks alternating or joint blocks over a list of components, then a head.',
  paper: 'Maddela & Trowbridge, Mixture Models',
  schema,

  tiny: {components: [{type: 'cnn', channels: [4, 3]}], block: 'joint', norm: {type: 'batchnorm'}},
  create: buildMixture,
})
