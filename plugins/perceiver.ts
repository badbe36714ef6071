/**
 * Perceiver, perceiver-pytorch 0.7 structure (arXiv:2103.03206): channels-last input with Fourier
 * position features, a learned latent array, `depth` layers of [cross-attention + GEGLU FF, then
 * `self_per_cross_attn` × (latent self-attention + GEGLU FF)], all pre-norm and residual, no weight
 * tying; head = mean over latents → LayerNorm → Linear.
 *
 * `perceiver` (component): the head emits 3·H·W values read as a (3, H, W) image — image in, image out.
 * `perceiver_classifier` (model): the head emits class logits.
 */
import {AttentionCore, FourierFeatures, Geglu, LatentArray, registerComponent, registerModel, Type, withDefault, type BuildContext, type Resolved, type SymbolicTensor} from '../src/api.js'

const schema = Type.Object(
  {
    num_freq_bands: withDefault(Type.Integer({minimum: 1, maximum: 1024}), 6),
    max_freq: withDefault(Type.Number({exclusiveMinimum: 0}), 10),
    depth: withDefault(Type.Integer({minimum: 1, maximum: 1000}), 4),
    num_latents: withDefault(Type.Integer({minimum: 1, maximum: 65536}), 32),
    latent_dim: withDefault(Type.Integer({minimum: 1, maximum: 65536}), 32),
    cross_heads: withDefault(Type.Integer({minimum: 1, maximum: 1024}), 2),
    latent_heads: withDefault(Type.Integer({minimum: 1, maximum: 1024}), 8),
    cross_dim_head: withDefault(Type.Integer({minimum: 1, maximum: 4096}), 16),
    latent_dim_head: withDefault(Type.Integer({minimum: 1, maximum: 4096}), 16),
    self_per_cross_attn: withDefault(Type.Integer({minimum: 0, maximum: 1000}), 2),
    ff_mult: withDefault(Type.Integer({minimum: 1, maximum: 64}), 4),
    attn_dropout: withDefault(Type.Number({minimum: 0, maximum: 1}), 0.2),
    ff_dropout: withDefault(Type.Number({minimum: 0, maximum: 1}), 0.2),
  },
  {additionalProperties: false},
)

export type PerceiverParams = Resolved<typeof schema>

function residual(ctx: BuildContext, a: SymbolicTensor, b: SymbolicTensor): SymbolicTensor {
  return ctx.tfl.layers.add({name: ctx.name('residual')}).apply([a, b]) as SymbolicTensor
}

/** PreNorm(Attention): LN(x) → q; LN(context) → k, v (no bias); heads; Linear out; Dropout. */
function attention(ctx: BuildContext, x: SymbolicTensor, context: SymbolicTensor | null, heads: number, dimHead: number, dropout: number): SymbolicTensor {
  const dim = x.shape[2] as number
  const inner = heads * dimHead
  const h = ctx.apply(ctx.layerNorm('norm'), x)
  let out: SymbolicTensor
  const core = new AttentionCore({name: ctx.name('core'), heads, dimHead})
  if (context) {
    const c = ctx.apply(ctx.layerNorm('norm_context'), context)
    const q = ctx.apply(ctx.dense('to_q', dim, inner, {bias: false}), h)
    const kv = ctx.apply(ctx.dense('to_kv', context.shape[2] as number, 2 * inner, {bias: false}), c)
    out = ctx.apply(core, [q, kv])
  } else {
    const q = ctx.apply(ctx.dense('to_q', dim, inner, {bias: false}), h)
    const kv = ctx.apply(ctx.dense('to_kv', dim, 2 * inner, {bias: false}), h)
    out = ctx.apply(core, [q, kv])
  }
  out = ctx.apply(ctx.dense('to_out', inner, dim), out)
  return residual(ctx, ctx.apply(ctx.dropout('dropout', dropout), out), x)
}

/** PreNorm(FeedForward): LN → Linear(d, 2·mult·d) → GEGLU → Dropout → Linear(mult·d, d). */
function feedForward(ctx: BuildContext, x: SymbolicTensor, mult: number, dropout: number): SymbolicTensor {
  const dim = x.shape[2] as number
  let h = ctx.apply(ctx.layerNorm('norm'), x)
  h = ctx.apply(ctx.dense('fc1', dim, dim * mult * 2), h)
  h = ctx.apply(new Geglu({name: ctx.name('geglu')}), h)
  h = ctx.apply(ctx.dropout('dropout', dropout), h)
  h = ctx.apply(ctx.dense('fc2', dim * mult, dim), h)
  return residual(ctx, h, x)
}

/** The encoder up to the pooled, normalised latent (B, latent_dim). */
export function perceiverEncoder(ctx: BuildContext, image: SymbolicTensor, p: PerceiverParams): SymbolicTensor {
  const data = ctx.apply(new FourierFeatures({name: ctx.name('fourier'), numBands: p.num_freq_bands, maxFreq: p.max_freq}), image)
  let x = ctx.apply(new LatentArray({name: ctx.name('latents'), numLatents: p.num_latents, dim: p.latent_dim, initializer: ctx.normal()}), data)
  for (let i = 0; i < p.depth; i++) {
    const layer = ctx.scope(`layer${i + 1}`)
    x = attention(layer.scope('cross_attn'), x, data, p.cross_heads, p.cross_dim_head, p.attn_dropout)
    x = feedForward(layer.scope('cross_ff'), x, p.ff_mult, p.ff_dropout)
    for (let j = 0; j < p.self_per_cross_attn; j++) {
      x = attention(layer.scope(`self_attn${j + 1}`), x, null, p.latent_heads, p.latent_dim_head, p.attn_dropout)
      x = feedForward(layer.scope(`self_ff${j + 1}`), x, p.ff_mult, p.ff_dropout)
    }
  }
  const head = ctx.scope('head')
  const pooled = ctx.tfl.layers.globalAveragePooling1d({name: head.name('mean_latents')}).apply(x) as SymbolicTensor
  return head.apply(head.layerNorm('norm'), pooled)
}

const tiny: Partial<PerceiverParams> = {num_freq_bands: 2, depth: 1, num_latents: 4, latent_dim: 8, cross_heads: 1, latent_heads: 2, cross_dim_head: 4, latent_dim_head: 4, self_per_cross_attn: 1, ff_mult: 2}

registerComponent<PerceiverParams>({
  name: 'perceiver',
  summary: 'Perceiver encoder whose head emits 3·H·W values read back as an image; image in, image out.',
  paper: 'arXiv:2103.03206',
  schema,
  presets: {
    paper_alternating: {depth: 4, cross_heads: 2, latent_heads: 8, num_latents: 32, latent_dim: 32, self_per_cross_attn: 2},
    paper_joint: {depth: 1, cross_heads: 1, latent_heads: 8, num_latents: 32, latent_dim: 32, self_per_cross_attn: 2},
  },
  tiny,
  output: 'image',
  create: (ctx, image, p) => {
    const {tfl} = ctx
    const [, h, w] = image.shape as number[]
    const latent = perceiverEncoder(ctx, image, p)
    const out = ctx.scope('head').apply(ctx.scope('head').dense('fc', p.latent_dim, 3 * h * w), latent)
    const chw = tfl.layers.reshape({name: ctx.name('as_image'), targetShape: [3, h, w]}).apply(out) as SymbolicTensor
    return tfl.layers.permute({name: ctx.name('to_nhwc'), dims: [2, 3, 1]}).apply(chw) as SymbolicTensor
  },
})

registerModel<PerceiverParams>({
  name: 'perceiver_classifier',
  summary: 'Perceiver baseline: Fourier features, latent array, cross/self attention with GEGLU, mean-pooled LayerNorm + Linear head.',
  paper: 'arXiv:2103.03206',
  schema,
  presets: {
    paper: {depth: 4, cross_heads: 2, latent_heads: 8, num_latents: 32, latent_dim: 32, self_per_cross_attn: 2},
    paper_baseline: {depth: 4, cross_heads: 8, latent_heads: 8, num_latents: 64, latent_dim: 64, self_per_cross_attn: 4},
  },
  tiny,
  create: (ctx, image, p, numClasses) => {
    const enc = ctx.scope('perceiver')
    const latent = perceiverEncoder(enc, image, p)
    return enc.scope('head').apply(enc.scope('head').dense('fc', p.latent_dim, numClasses), latent)
  },
})
