/**
 * Vision Transformer, late-2021 vit-pytorch structure (arXiv:2010.11929).
 *
 * `vit`: the token mixer used inside mixture blocks — patch embedding (Rearrange + Linear), embedding
 * dropout and `depth` pre-norm transformer layers, with no CLS token, positional embedding, final
 * LayerNorm or head (the original kept only those module children). Image in, tokens (B, N, dim) out.
 * `vit_classifier`: the full ViT baseline with CLS token, learned positional embedding, CLS pooling
 * and a LayerNorm + Linear head.
 */
import {AttentionCore, ClsPool, ClsPosEmbedding, Gelu, registerComponent, registerModel, Type, withDefault, type BuildContext, type Resolved, type SymbolicTensor} from '../src/api.js'

const properties = {
  patch_size: withDefault(Type.Integer({minimum: 1, maximum: 1024}), 2),
  dim: withDefault(Type.Integer({minimum: 1, maximum: 65536}), 1024),
  depth: withDefault(Type.Integer({minimum: 1, maximum: 1000}), 1),
  heads: withDefault(Type.Integer({minimum: 1, maximum: 1024}), 1),
  dim_head: withDefault(Type.Integer({minimum: 1, maximum: 4096}), 64),
  mlp_dim: withDefault(Type.Integer({minimum: 1, maximum: 262144}), 2048),
  dropout: withDefault(Type.Number({minimum: 0, maximum: 1}), 0.1),
  emb_dropout: withDefault(Type.Number({minimum: 0, maximum: 1}), 0.1),
}

const schema = Type.Object(properties, {additionalProperties: false})

export type VitParams = Resolved<typeof schema>

/** 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)' on an NHWC image: row-major patches, inside a patch row, column, channel. */
export function patchTokens(ctx: BuildContext, image: SymbolicTensor, ps: number): SymbolicTensor {
  const {tfl} = ctx
  const [, height, width, channels] = image.shape as number[]
  if (height % ps !== 0 || width % ps !== 0) {
    throw new Error(`vit: image ${height}×${width} is not divisible by patch_size ${ps}; choose a patch size that divides the image size`)
  }
  const gh = height / ps
  const gw = width / ps
  let x = tfl.layers.reshape({name: ctx.name('split_patches'), targetShape: [gh, ps, gw, ps, channels]}).apply(image) as SymbolicTensor
  x = tfl.layers.permute({name: ctx.name('patch_order'), dims: [1, 3, 2, 4, 5]}).apply(x) as SymbolicTensor
  return tfl.layers.reshape({name: ctx.name('flatten_patches'), targetShape: [gh * gw, ps * ps * channels]}).apply(x) as SymbolicTensor
}

/** Patch tokens, then Linear(p·p·c, dim). */
export function patchEmbedding(ctx: BuildContext, image: SymbolicTensor, p: VitParams): SymbolicTensor {
  const tokens = patchTokens(ctx, image, p.patch_size)
  return ctx.apply(ctx.dense('to_patch_embedding', tokens.shape[2] as number, p.dim), tokens)
}

/** One pre-norm layer: x += Attn(LN(x)); x += FF(LN(x)). */
function transformerLayer(ctx: BuildContext, x: SymbolicTensor, p: VitParams): SymbolicTensor {
  const {tfl} = ctx
  const inner = p.heads * p.dim_head
  const attn = ctx.scope('attn')
  let h = attn.apply(attn.layerNorm('norm'), x)
  h = attn.apply(attn.dense('to_qkv', p.dim, 3 * inner, {bias: false}), h)
  h = attn.apply(new AttentionCore({name: attn.name('core'), heads: p.heads, dimHead: p.dim_head}), h)
  h = attn.apply(attn.dense('to_out', inner, p.dim), h)
  h = attn.apply(attn.dropout('dropout', p.dropout), h)
  x = tfl.layers.add({name: attn.name('residual')}).apply([h, x]) as SymbolicTensor

  const ff = ctx.scope('ff')
  h = ff.apply(ff.layerNorm('norm'), x)
  h = ff.apply(ff.dense('fc1', p.dim, p.mlp_dim), h)
  h = ff.apply(new Gelu({name: ff.name('gelu')}), h)
  h = ff.apply(ff.dropout('dropout1', p.dropout), h)
  h = ff.apply(ff.dense('fc2', p.mlp_dim, p.dim), h)
  h = ff.apply(ff.dropout('dropout2', p.dropout), h)
  return tfl.layers.add({name: ff.name('residual')}).apply([h, x]) as SymbolicTensor
}

export function transformer(ctx: BuildContext, x: SymbolicTensor, p: VitParams): SymbolicTensor {
  for (let i = 0; i < p.depth; i++) x = transformerLayer(ctx.scope(`layer${i + 1}`), x, p)
  return x
}

registerComponent<VitParams>({
  name: 'vit',
  summary: 'Vision Transformer encoder: patch embedding + pre-norm attention/MLP layers; image in, tokens out.',
  paper: 'arXiv:2010.11929',
  schema,
  presets: {paper_alternating: {depth: 1, heads: 1}, paper_joint: {depth: 2, heads: 2}},
  // dim 64 = an 8×8 image, so the token_image adapter can read the tokens back at the tiny image size
  tiny: {patch_size: 2, dim: 64, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32},
  output: 'tokens',
  create: (ctx, image, p) => {
    const x = patchEmbedding(ctx, image, p)
    return transformer(ctx, ctx.apply(ctx.dropout('emb_dropout', p.emb_dropout), x), p)
  },
})

registerModel<VitParams>({
  name: 'vit_classifier',
  summary: 'Full ViT baseline: patches, CLS token, learned positional embedding, transformer, CLS pooling, LayerNorm + Linear head.',
  paper: 'arXiv:2010.11929',
  schema: Type.Object({...properties, depth: withDefault(properties.depth, 2), heads: withDefault(properties.heads, 4)}, {additionalProperties: false}),
  presets: {paper: {patch_size: 2, dim: 1024, depth: 2, heads: 4, dim_head: 64, mlp_dim: 2048, dropout: 0.1, emb_dropout: 0.1}},
  tiny: {patch_size: 2, dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32},
  create: (ctx, image, p, numClasses) => {
    const [, height, width] = image.shape as number[]
    const numPatches = (height / p.patch_size) * (width / p.patch_size)
    const vit = ctx.scope('vit')
    let x = patchEmbedding(vit, image, p)
    x = vit.apply(new ClsPosEmbedding({name: vit.name('cls_pos'), numTokens: numPatches, dim: p.dim, initializer: vit.normal(), clsInitializer: vit.normal()}), x)
    x = vit.apply(vit.dropout('emb_dropout', p.emb_dropout), x)
    x = transformer(vit, x, p)
    const head = ctx.scope('head')
    x = head.apply(new ClsPool({name: head.name('cls_pool')}), x)
    x = head.apply(head.layerNorm('norm'), x)
    return head.apply(head.dense('fc', p.dim, numClasses), x)
  },
})
